//! Listening sockets for `bind` lines, as haproxy 2.6 opens them: one
//! socket per address and port (a range `8000-8003` gives four), with
//! SO_REUSEADDR and SO_REUSEPORT (so a new process started with `-sf` can
//! bind beside the old one), `transparent` (IP_TRANSPARENT + IP_FREEBIND:
//! a backup vrouter binds the VIP it does not hold yet), `v6only`/`v4v6`,
//! `interface` (SO_BINDTODEVICE), `backlog`, UNIX
//! sockets with `mode` and `uid`/`user`, `gid`/`group`, and `fd@N`: a
//! socket inherited from the parent (listened on if it was only bound).
//! `*` and an empty address mean any IPv4 address, as in haproxy
//! (`:::80` is the IPv6 any address).

pub mod transfer;

use crate::model::haproxy::BindOptions;
use crate::model::{Endpoint, Host};
use socket2::{Domain, Protocol, SockAddr, Socket, Type};
use std::io;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::os::unix::fs::PermissionsExt;

/// A bound, listening socket.
pub enum Listener {
    Tcp(std::net::TcpListener),
    Unix(std::os::unix::net::UnixListener),
}

impl Listener {
    /// The local address, for messages.
    pub fn describe(&self) -> String {
        match self {
            Listener::Tcp(l) => l
                .local_addr()
                .map_or_else(|_| "?".into(), |a| a.to_string()),
            Listener::Unix(l) => l
                .local_addr()
                .ok()
                .and_then(|a| a.as_pathname().map(|p| p.display().to_string()))
                .unwrap_or_else(|| "unix@?".into()),
        }
    }

    /// The descriptor itself (a master holds it for its workers).
    pub fn into_fd(self) -> std::os::fd::OwnedFd {
        match self {
            Listener::Tcp(l) => l.into(),
            Listener::Unix(l) => l.into(),
        }
    }

    /// The descriptor, borrowed.
    pub fn fd(&self) -> std::os::fd::BorrowedFd<'_> {
        use std::os::fd::AsFd;
        match self {
            Listener::Tcp(l) => l.as_fd(),
            Listener::Unix(l) => l.as_fd(),
        }
    }

    /// The same socket under a second descriptor.
    fn try_clone(&self) -> io::Result<Listener> {
        Ok(match self {
            Listener::Tcp(l) => Listener::Tcp(l.try_clone()?),
            Listener::Unix(l) => Listener::Unix(l.try_clone()?),
        })
    }
}

/// Why a bind failed, in haproxy's words: `cannot bind socket (Address
/// already in use) for [0.0.0.0:80]`.
#[derive(Debug, thiserror::Error)]
#[error("cannot bind socket ({reason}) for [{addr}]")]
pub struct BindError {
    pub reason: String,
    pub addr: String,
}

fn bind_error(e: &io::Error, addr: impl ToString) -> BindError {
    BindError {
        reason: crate::daemon::strerror(e),
        addr: addr.to_string(),
    }
}

/// Opens every socket of one `bind` address.
pub fn bind(endpoint: &Endpoint, opts: &BindOptions) -> Result<Vec<Listener>, BindError> {
    let backlog = i32::try_from(opts.backlog.unwrap_or(1024)).unwrap_or(1024);
    match endpoint {
        Endpoint::Inet { host, ports, .. } => {
            let ip = match host {
                Host::Any => IpAddr::V4(Ipv4Addr::UNSPECIFIED),
                Host::Ip(ip) => *ip,
                Host::Name(name) => {
                    return Err(BindError {
                        reason: "names are not resolved for bind".into(),
                        addr: name.clone(),
                    });
                }
            };
            let (first, last) = ports.unwrap_or((0, 0));
            (first..=last)
                .map(|port| {
                    let addr = SocketAddr::new(ip, port);
                    tcp(addr, opts, backlog)
                        .map(Listener::Tcp)
                        .map_err(|e| bind_error(&e, addr))
                })
                .collect()
        }
        Endpoint::Unix { path } => unix(path, opts, backlog)
            .map(|l| vec![Listener::Unix(l)])
            .map_err(|e| bind_error(&e, path.display())),
        Endpoint::Abstract { name } => Err(BindError {
            reason: "abstract sockets are not supported by this build".into(),
            addr: format!("abns@{name}"),
        }),
        Endpoint::Fd { fd } => inherited(*fd, backlog)
            .map(|l| vec![l])
            .map_err(|e| bind_error(&e, format!("fd@{fd}"))),
        Endpoint::SockPair { fd } => Err(BindError {
            reason: "socket pairs are not supported by this build".into(),
            addr: format!("sockpair@{fd}"),
        }),
    }
}

/// Opens the sockets of one `bind` address for `threads` acceptors, one
/// list per thread: an IP address gets a SO_REUSEPORT socket of its own
/// per thread (the kernel spreads new connections over them, no thread
/// wakes for another's client); a unix or inherited socket cannot be
/// opened again and is shared under duplicated descriptors, as are the
/// sockets a master-worker master hands down ([`HANDOVER_ENV`]).
pub fn bind_per_thread(
    endpoint: &Endpoint,
    opts: &BindOptions,
    threads: usize,
) -> Result<Vec<Vec<Listener>>, BindError> {
    // Sockets a master holds for its workers, or that the old process
    // passed over (`-x`), are shared by the threads.
    let handed = handed_down(&handover_key(endpoint, opts)).or_else(|| transfer::take(endpoint));
    let shared = handed.is_some();
    let first = match handed {
        Some(ls) => ls,
        None => bind(endpoint, opts)?,
    };
    let mut all = Vec::with_capacity(threads);
    for _ in 1..threads {
        let more = match endpoint {
            Endpoint::Inet { .. } if !shared => bind(endpoint, opts)?,
            _ => first
                .iter()
                .map(|l| l.try_clone().map_err(|e| bind_error(&e, l.describe())))
                .collect::<Result<_, _>>()?,
        };
        all.push(more);
    }
    all.insert(0, first);
    Ok(all)
}

/// The environment variable through which a master-worker master names the
/// listening sockets its workers inherit: a JSON object from
/// [`handover_key`] to descriptor numbers.
pub const HANDOVER_ENV: &str = "PHAROS_LISTENERS";

/// Under which name a master hands the sockets of one `bind` address to
/// its workers (the same address and options give the same key).
pub fn handover_key(endpoint: &Endpoint, opts: &BindOptions) -> String {
    format!("{endpoint:?}|{opts:?}")
}

/// Whether a master would hold this address for its workers (IP and UNIX
/// addresses; inherited and abstract ones are not its to open).
pub fn handed_over(endpoint: &Endpoint) -> bool {
    matches!(endpoint, Endpoint::Inet { .. } | Endpoint::Unix { .. })
}

/// Descriptors handed down by a master and not taken yet, by key.
type Handed = std::sync::Mutex<std::collections::HashMap<String, Vec<i32>>>;

fn handed() -> &'static Handed {
    static HANDED: std::sync::OnceLock<Handed> = std::sync::OnceLock::new();
    HANDED.get_or_init(|| {
        let map = std::env::var(HANDOVER_ENV)
            .ok()
            .and_then(|v| serde_json::from_str(&v).ok())
            .unwrap_or_default();
        std::sync::Mutex::new(map)
    })
}

/// Closes the handed-down sockets this process did not take (the master
/// holds addresses this configuration does not bind, or names them
/// otherwise); their keys, for the master to let go of them too: a socket
/// nobody accepts on would keep a share of the port's connections.
pub fn release_unused_handover() -> Vec<String> {
    let left: Vec<(String, Vec<i32>)> = match handed().lock() {
        Ok(mut t) => t.drain().collect(),
        Err(_) => Vec::new(),
    };
    for fd in left.iter().flat_map(|(_, fds)| fds) {
        drop(crate::daemon::sys::adopt_fd(*fd));
    }
    left.into_iter().map(|(k, _)| k).collect()
}

/// The sockets handed down for `key`, taken once (None: not handed down).
fn handed_down(key: &str) -> Option<Vec<Listener>> {
    let fds = handed().lock().ok()?.remove(key)?;
    fds.into_iter()
        .map(|fd| {
            let sock = Socket::from(crate::daemon::sys::adopt_fd(fd)?);
            // Ours now: not passed on to what this process starts.
            sock.set_cloexec(true)?;
            as_listener(sock)
        })
        .collect::<io::Result<Vec<_>>>()
        .ok()
}

/// A listening socket of either family, non-blocking.
fn as_listener(sock: Socket) -> io::Result<Listener> {
    sock.set_nonblocking(true)?;
    Ok(if sock.domain()? == Domain::UNIX {
        Listener::Unix(sock.into())
    } else {
        Listener::Tcp(sock.into())
    })
}

/// `fd@N`: a stream socket the parent bound (and maybe listened on) for us.
fn inherited(fd: i32, backlog: i32) -> io::Result<Listener> {
    let sock = Socket::from(crate::daemon::sys::adopt_fd(fd)?);
    if sock.r#type()? != Type::STREAM {
        return Err(io::Error::from_raw_os_error(libc::ENOTSUP));
    }
    if !sock.is_listener()? {
        sock.listen(backlog)?;
    }
    as_listener(sock)
}

fn tcp(addr: SocketAddr, opts: &BindOptions, backlog: i32) -> io::Result<std::net::TcpListener> {
    let sock = Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))?;
    sock.set_reuse_address(true)?;
    sock.set_reuse_port(true)?;
    if addr.is_ipv6() {
        sock.set_only_v6(opts.v6only && !opts.v4v6)?;
    }
    if opts.transparent {
        sock.set_ip_transparent_v4(true)?;
        sock.set_freebind_v4(true)?;
    }
    if let Some(dev) = &opts.interface {
        sock.bind_device(Some(dev.as_bytes()))?;
    }
    // `defer-accept` (TCP_DEFER_ACCEPT) has no safe binding in socket2 0.6
    // or nix 0.30; it is an optimisation, and the option is accepted.
    sock.bind(&SockAddr::from(addr))?;
    sock.listen(backlog)?;
    sock.set_nonblocking(true)?;
    Ok(sock.into())
}

fn unix(
    path: &std::path::Path,
    opts: &BindOptions,
    backlog: i32,
) -> io::Result<std::os::unix::net::UnixListener> {
    // A stale socket from an earlier run would make bind fail.
    let _ = std::fs::remove_file(path);
    let sock = Socket::new(Domain::UNIX, Type::STREAM, None)?;
    sock.bind(&SockAddr::unix(path)?)?;
    sock.listen(backlog)?;
    sock.set_nonblocking(true)?;
    if let Some(mode) = opts.unix_mode {
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))?;
    }
    let uid = match (opts.uid, &opts.user) {
        (None, Some(name)) => Some(user_id(name)?),
        (uid, _) => uid,
    };
    let gid = match (opts.gid, &opts.group) {
        (None, Some(name)) => Some(group_id(name)?),
        (gid, _) => gid,
    };
    if uid.is_some() || gid.is_some() {
        std::os::unix::fs::chown(path, uid, gid)?;
    }
    Ok(sock.into())
}

fn unknown(what: &str, name: &str) -> io::Error {
    io::Error::new(io::ErrorKind::NotFound, format!("unknown {what} '{name}'"))
}

fn user_id(name: &str) -> io::Result<u32> {
    match nix::unistd::User::from_name(name) {
        Ok(Some(u)) => Ok(u.uid.as_raw()),
        _ => Err(unknown("user", name)),
    }
}

fn group_id(name: &str) -> io::Result<u32> {
    match nix::unistd::Group::from_name(name) {
        Ok(Some(g)) => Ok(g.gid.as_raw()),
        _ => Err(unknown("group", name)),
    }
}

/// A proxy's unix listeners with their numbers, which name a unix client
/// in the logs (`unix:N`): listeners are numbered from 1 in the order of
/// the `bind` lines (one per address and port), unless `id` sets the number.
#[derive(Debug, Default)]
pub struct UnixIds(Vec<(std::path::PathBuf, u32)>);

impl UnixIds {
    /// The unix listeners of `p`.
    pub fn of_proxy(p: &crate::model::haproxy::Proxy) -> UnixIds {
        let mut out = Vec::new();
        let mut next = 1u32;
        for b in &p.binds {
            for a in &b.addresses {
                let count = match a {
                    Endpoint::Inet {
                        ports: Some((lo, hi)),
                        ..
                    } => u32::from(hi.saturating_sub(*lo)) + 1,
                    _ => 1,
                };
                if let Endpoint::Unix { path } = a {
                    out.push((path.clone(), b.options.id.unwrap_or(next)));
                }
                next += count;
            }
        }
        UnixIds(out)
    }

    /// The number of the listener `client` came through (0: unknown).
    pub fn of(&self, client: &tokio::net::UnixStream) -> u32 {
        let local = client.local_addr().ok();
        let path = local.as_ref().and_then(|a| a.as_pathname());
        path.and_then(|p| self.0.iter().find(|(bound, _)| bound == p))
            .map_or(0, |(_, id)| *id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn inet(ip: &str, ports: (u16, u16)) -> Endpoint {
        Endpoint::Inet {
            host: Host::Ip(ip.parse().expect("ip")),
            ports: Some(ports),
            family: None,
        }
    }

    #[test]
    fn port_ranges_give_one_socket_each_and_reuseport_lets_two_bind() {
        let opts = BindOptions::default();
        let first = bind(&inet("127.0.0.1", (0, 0)), &opts).expect("bind");
        let Listener::Tcp(l) = &first[0] else {
            panic!("tcp expected")
        };
        let port = l.local_addr().expect("addr").port();
        // A second process (here: a second bind) gets the same port.
        let again = bind(&inet("127.0.0.1", (port, port)), &opts).expect("SO_REUSEPORT");
        assert_eq!(again.len(), 1);
        let range = bind(&inet("127.0.0.1", (port, port)), &opts).expect("again");
        assert_eq!(range[0].describe(), format!("127.0.0.1:{port}"));
    }

    #[test]
    fn each_thread_gets_its_own_socket_for_an_ip_address() {
        let opts = BindOptions::default();
        let probe = bind(&inet("127.0.0.1", (0, 0)), &opts).expect("bind");
        let port = probe[0]
            .describe()
            .rsplit(':')
            .next()
            .expect("port")
            .to_string();
        let port: u16 = port.parse().expect("number");
        drop(probe);
        let shards = bind_per_thread(&inet("127.0.0.1", (port, port)), &opts, 3);
        let shards = shards.expect("SO_REUSEPORT");
        assert_eq!(shards.len(), 3);
        for shard in &shards {
            assert_eq!(shard.len(), 1);
            assert_eq!(shard[0].describe(), format!("127.0.0.1:{port}"));
        }
        let fd = |l: &Listener| match l {
            Listener::Tcp(l) => std::os::fd::AsRawFd::as_raw_fd(l),
            Listener::Unix(l) => std::os::fd::AsRawFd::as_raw_fd(l),
        };
        assert_ne!(fd(&shards[0][0]), fd(&shards[1][0]));
    }

    #[test]
    fn transparent_binds_an_address_the_host_does_not_have() {
        let mut opts = BindOptions::default();
        let plain = bind(&inet("203.0.113.77", (0, 0)), &opts);
        let err = plain.err().expect("not a local address");
        assert_eq!(
            err.to_string(),
            "cannot bind socket (Cannot assign requested address) for [203.0.113.77:0]"
        );
        opts.transparent = true;
        assert!(bind(&inet("203.0.113.77", (0, 0)), &opts).is_ok());
    }

    #[test]
    fn an_inherited_socket_is_listened_on() {
        // Bound but not listening, as a parent may hand it over.
        let sock = Socket::new(Domain::IPV4, Type::STREAM, None).expect("socket");
        sock.bind(&SockAddr::from(SocketAddr::from(([127, 0, 0, 1], 0))))
            .expect("bind");
        // A number of its own: adopted numbers stay taken for the process,
        // and tests run side by side.
        let fd = nix::fcntl::fcntl(&sock, nix::fcntl::FcntlArg::F_DUPFD_CLOEXEC(800)).expect("dup");
        drop(sock);
        let l = bind(&Endpoint::Fd { fd }, &BindOptions::default()).expect("fd@");
        let Listener::Tcp(l) = &l[0] else {
            panic!("tcp expected")
        };
        let addr = l.local_addr().expect("addr");
        std::net::TcpStream::connect(addr).expect("it listens");
        let again = bind(&Endpoint::Fd { fd }, &BindOptions::default());
        assert!(again.is_err(), "one owner per descriptor");
    }

    #[test]
    fn unix_sockets_get_their_mode() {
        let dir = std::env::temp_dir().join(format!("pharos-listener-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        let path = dir.join("s.sock");
        // Giving the socket away needs root.
        let root = nix::unistd::geteuid().is_root();
        let opts = BindOptions {
            unix_mode: Some(0o600),
            user: root.then(|| "nobody".into()),
            ..BindOptions::default()
        };
        let l = bind(&Endpoint::Unix { path: path.clone() }, &opts).expect("unix bind");
        assert_eq!(l.len(), 1);
        let meta = std::fs::metadata(&path).expect("meta");
        assert_eq!(meta.permissions().mode() & 0o777, 0o600);
        if root {
            use std::os::unix::fs::MetadataExt;
            assert_eq!(meta.uid(), 65534, "owned by nobody");
        }
        let bad = BindOptions {
            group: Some("no-such-group-pharos".into()),
            ..BindOptions::default()
        };
        assert!(bind(&Endpoint::Unix { path: path.clone() }, &bad).is_err());
        let _ = std::fs::remove_dir_all(&dir);
    }
}
