//! Listening sockets passed from a running process to the one replacing it
//! (`haproxy -x <stats socket> -sf <pid>`), in haproxy 2.6's `_getsocks`
//! wire format so that either side may be haproxy: the old process sends
//! the number of sockets (a native `int`), then batches of at most 253
//! descriptors (SCM_RIGHTS), each described by `<ns len><ns><if len><if>`
//! and four zero bytes; the receiver acknowledges a full batch with four
//! bytes. The new process listens on the very sockets the old one
//! accepted on, so no connection waiting in their queues is lost.

use super::Listener;
use crate::model::{Endpoint, Host};
use nix::sys::socket::{ControlMessage, ControlMessageOwned, MsgFlags, recvmsg, sendmsg};
use std::io::{self, IoSlice, IoSliceMut, Read, Write};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd, RawFd};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Duration;

/// Descriptors per message, as haproxy's MAX_SEND_FD.
const BATCH: usize = 253;

/// Copies of this process's listening sockets, offered to a successor.
static EXPORTED: Mutex<Vec<OwnedFd>> = Mutex::new(Vec::new());

/// Offers listening socket `fd` to a successor (`expose-fd listeners`);
/// a socket shared by several threads is offered once.
pub fn export(fd: BorrowedFd<'_>) {
    let Ok(mut all) = EXPORTED.lock() else {
        return;
    };
    let inode = inode_of(fd);
    if inode.is_some() && all.iter().any(|e| inode_of(e.as_fd()) == inode) {
        return;
    }
    if let Ok(copy) = fd.try_clone_to_owned() {
        all.push(copy);
    }
}

/// Which socket a descriptor is (two descriptors of one socket agree).
fn inode_of(fd: BorrowedFd<'_>) -> Option<u64> {
    nix::sys::stat::fstat(fd).ok().map(|st| st.st_ino)
}

/// Stops offering the listening sockets (a soft stop closes them: a copy
/// kept here would go on taking a share of the port's connections).
pub fn withdraw_exports() {
    if let Ok(mut all) = EXPORTED.lock() {
        all.clear();
    }
}

/// Answers `_getsocks` on `c`: the count, then the sockets in batches.
/// Nothing is sent when there is none, as haproxy does.
pub fn send_sockets(c: &mut UnixStream) -> io::Result<()> {
    let fds: Vec<RawFd> = match EXPORTED.lock() {
        Ok(all) => all.iter().map(AsRawFd::as_raw_fd).collect(),
        Err(_) => Vec::new(),
    };
    if fds.is_empty() {
        return Ok(());
    }
    c.set_nonblocking(false)?;
    c.set_read_timeout(Some(Duration::from_secs(1)))?;
    let count = i32::try_from(fds.len()).unwrap_or(i32::MAX);
    c.write_all(&count.to_ne_bytes())?;
    for batch in fds.chunks(BATCH) {
        // No namespace, no interface, no options: 1 + 1 + 4 zero bytes each.
        let blob = vec![0u8; batch.len() * 6];
        let cmsg = [ControlMessage::ScmRights(batch)];
        let sent = sendmsg::<()>(
            c.as_raw_fd(),
            &[IoSlice::new(&blob)],
            &cmsg,
            MsgFlags::empty(),
            None,
        )?;
        if sent != blob.len() {
            return Err(io::Error::other("short send"));
        }
        if batch.len() == BATCH {
            let mut ack = [0u8; 4];
            c.read_exact(&mut ack)?;
        }
    }
    Ok(())
}

/// Where a received socket listens.
#[derive(Debug, PartialEq, Eq)]
enum Place {
    Inet(SocketAddr),
    Unix(PathBuf),
}

/// Sockets received from the old process and not taken yet.
static RECEIVED: Mutex<Vec<(Place, OwnedFd)>> = Mutex::new(Vec::new());

/// Fetches the old process's listening sockets through its stats socket
/// at `path`; how many came. The error is haproxy's warning.
pub fn fetch(path: &Path) -> Result<usize, String> {
    let mut c = UnixStream::connect(path).map_err(|_| {
        format!(
            "Failed to connect to the old process socket '{}'",
            path.display()
        )
    })?;
    let failed = |what: &str| format!("{what} from the old process socket '{}'", path.display());
    c.set_read_timeout(Some(Duration::from_secs(1)))
        .map_err(|_| failed("Failed to set a timeout"))?;
    c.write_all(b"_getsocks\n")
        .map_err(|_| failed("Failed to send the request"))?;
    let mut count = [0u8; 4];
    c.read_exact(&mut count)
        .map_err(|_| failed("Failed to get the number of sockets to be transferred"))?;
    let total = usize::try_from(i32::from_ne_bytes(count)).unwrap_or(0);
    let mut got = Vec::with_capacity(total);
    while got.len() < total {
        let fds = receive_batch(&c).map_err(|_| failed("Failed to get the sockets"))?;
        if fds.is_empty() {
            return Err(failed("Failed to get the sockets"));
        }
        let full = fds.len() == BATCH;
        got.extend(fds);
        if full && got.len() < total {
            c.write_all(&[0u8; 4])
                .map_err(|_| failed("Failed to acknowledge the sockets"))?;
        }
    }
    let n = got.len();
    let placed = got
        .into_iter()
        .filter_map(|fd| place_of(fd.as_fd()).map(|p| (p, fd)));
    if let Ok(mut r) = RECEIVED.lock() {
        r.extend(placed);
    }
    Ok(n)
}

/// One message of descriptors (their descriptions are not used: Pharos
/// matches sockets by address).
fn receive_batch(c: &UnixStream) -> io::Result<Vec<OwnedFd>> {
    let mut data = vec![0u8; BATCH * (2 + 255 + 16 + 4)];
    let mut iov = [IoSliceMut::new(&mut data)];
    let mut space = nix::cmsg_space!([RawFd; BATCH]);
    let msg = recvmsg::<()>(c.as_raw_fd(), &mut iov, Some(&mut space), MsgFlags::empty())?;
    let mut out = Vec::new();
    for cmsg in msg.cmsgs()? {
        if let ControlMessageOwned::ScmRights(fds) = cmsg {
            for fd in fds {
                out.push(crate::daemon::sys::adopt_fd(fd)?);
            }
        }
    }
    Ok(out)
}

/// The address a received socket listens on. haproxy binds a unix socket
/// under `<path>.<pid>.tmp` and renames it: that suffix is not the path.
fn place_of(fd: BorrowedFd<'_>) -> Option<Place> {
    let sock = socket2::SockRef::from(&fd);
    let addr = sock.local_addr().ok()?;
    if let Some(a) = addr.as_socket() {
        return Some(Place::Inet(a));
    }
    let path = addr.as_pathname()?.to_string_lossy().into_owned();
    let path = match path.strip_suffix(".tmp").and_then(|p| p.rsplit_once('.')) {
        Some((base, pid)) if pid.bytes().all(|b| b.is_ascii_digit()) => base.to_string(),
        _ => path,
    };
    Some(Place::Unix(PathBuf::from(path)))
}

/// The received sockets for every address of `endpoint` (None unless all
/// of them came: the endpoint is then bound afresh).
pub fn take(endpoint: &Endpoint) -> Option<Vec<Listener>> {
    let wanted: Vec<Place> = match endpoint {
        Endpoint::Inet { host, ports, .. } => {
            let ip = match host {
                Host::Any => IpAddr::V4(Ipv4Addr::UNSPECIFIED),
                Host::Ip(ip) => *ip,
                Host::Name(_) => return None,
            };
            let (first, last) = ports.unwrap_or((0, 0));
            (first..=last)
                .map(|port| Place::Inet(SocketAddr::new(ip, port)))
                .collect()
        }
        Endpoint::Unix { path } => vec![Place::Unix(path.clone())],
        _ => return None,
    };
    let mut received = RECEIVED.lock().ok()?;
    if !wanted.iter().all(|w| received.iter().any(|(p, _)| p == w)) {
        return None;
    }
    // Every socket of each address: the old process may have had one per
    // thread, and one left behind would drop the connections queued on it.
    let (taken, left): (Vec<_>, Vec<_>) = std::mem::take(&mut *received)
        .into_iter()
        .partition(|(p, _)| wanted.contains(p));
    *received = left;
    let mut seen = Vec::new();
    taken
        .into_iter()
        .filter(|(_, fd)| {
            let inode = inode_of(fd.as_fd());
            let fresh = inode.is_none() || !seen.contains(&inode);
            seen.push(inode);
            fresh
        })
        .map(|(_, fd)| super::as_listener(socket2::Socket::from(fd)).ok())
        .collect()
}

/// Closes the received sockets no `bind` line took (the old process still
/// holds them until it stops).
pub fn release_unused() {
    if let Ok(mut r) = RECEIVED.lock() {
        r.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sockets_go_over_a_socket_pair_and_are_found_by_address() {
        let l = std::net::TcpListener::bind("127.0.0.1:0").expect("listen");
        let addr = l.local_addr().expect("addr");
        export(l.as_fd());
        let dir = std::env::temp_dir().join(format!("pharos-xfer-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        let path = dir.join("s.sock");
        let server = std::os::unix::net::UnixListener::bind(&path).expect("unix");
        let t = std::thread::spawn(move || {
            let (mut c, _) = server.accept().expect("accept");
            let mut line = [0u8; 10];
            c.read_exact(&mut line).expect("request");
            assert_eq!(&line, b"_getsocks\n");
            send_sockets(&mut c).expect("sent");
        });
        assert_eq!(fetch(&path), Ok(1));
        t.join().expect("server");
        let inet = Endpoint::Inet {
            host: Host::Ip(addr.ip()),
            ports: Some((addr.port(), addr.port())),
            family: None,
        };
        let got = take(&inet).expect("the socket came");
        assert_eq!(got.len(), 1);
        assert!(take(&inet).is_none(), "taken once");
        withdraw_exports();
        std::fs::remove_dir_all(&dir).expect("rm");
        assert_eq!(
            fetch(&path),
            Err(format!(
                "Failed to connect to the old process socket '{}'",
                path.display()
            ))
        );
    }

    #[test]
    fn haproxy_temporary_unix_names_are_their_paths() {
        let dir = std::env::temp_dir().join(format!("pharos-xname-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        let tmp = dir.join("a.sock.4242.tmp");
        let l = std::os::unix::net::UnixListener::bind(&tmp).expect("unix");
        assert_eq!(place_of(l.as_fd()), Some(Place::Unix(dir.join("a.sock"))));
        std::fs::remove_dir_all(&dir).expect("rm");
    }
}
