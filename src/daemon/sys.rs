//! The few descriptor and process calls that have no safe binding: `fork`
//! (haproxy `-D`), adopting a descriptor inherited from the parent (`bind
//! fd@N`), and registering a listener with tokio's reactor to wait for a
//! pending connection without accepting it. Everything else goes through
//! safe wrappers.
#![allow(unsafe_code)]

use std::io;
use std::os::fd::{FromRawFd, OwnedFd};
use std::sync::Mutex;

/// Which side of a fork this is.
pub enum Forked {
    /// The parent, with the child's pid.
    Parent(i32),
    /// The child.
    Child,
}

/// Forks the process. Call it only while the process has one thread (before
/// any runtime or helper thread starts): the child gets a copy of the
/// calling thread only.
pub fn fork() -> io::Result<Forked> {
    // SAFETY: the callers fork before starting any thread (the tokio runtime
    // is built after daemonizing), so no lock can be held by a thread that
    // does not exist in the child.
    match unsafe { nix::unistd::fork() } {
        Ok(nix::unistd::ForkResult::Parent { child }) => Ok(Forked::Parent(child.as_raw())),
        Ok(nix::unistd::ForkResult::Child) => Ok(Forked::Child),
        Err(e) => Err(e.into()),
    }
}

/// Descriptors already taken by `adopt_fd`: each may have one owner.
static ADOPTED: Mutex<Vec<i32>> = Mutex::new(Vec::new());

/// Takes ownership of descriptor `fd`, inherited from the parent process
/// (`bind fd@3`). Fails when it is not open, is a standard stream, or was
/// adopted already.
pub fn adopt_fd(fd: i32) -> io::Result<OwnedFd> {
    if fd < 3 {
        return Err(io::Error::from_raw_os_error(libc::EBADF));
    }
    let mut taken = ADOPTED
        .lock()
        .map_err(|_| io::Error::other("descriptor table poisoned"))?;
    if taken.contains(&fd) {
        return Err(io::Error::from_raw_os_error(libc::EBADF));
    }
    // SAFETY: F_GETFD only reads the descriptor flags; an invalid number
    // yields -1/EBADF and nothing else.
    if unsafe { libc::fcntl(fd, libc::F_GETFD) } == -1 {
        return Err(io::Error::last_os_error());
    }
    taken.push(fd);
    // SAFETY: the descriptor is open (checked above), was handed to this
    // process to use (`fd@N` in the configuration), and the table above
    // makes this the only owner.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// Listener types that own their descriptor for their whole life.
pub trait OwnedListener: std::os::fd::AsRawFd + sealed::Sealed {}
impl OwnedListener for std::net::TcpListener {}
impl OwnedListener for std::os::unix::net::UnixListener {}

mod sealed {
    pub trait Sealed {}
    impl Sealed for std::net::TcpListener {}
    impl Sealed for std::os::unix::net::UnixListener {}
}

/// Registers `listener` with the current tokio runtime's reactor, to wait
/// for readiness (a pending connection) apart from accepting.
pub fn watch<L: OwnedListener>(listener: L) -> io::Result<tokio::io::unix::AsyncFd<L>> {
    // SAFETY: std's listeners own their descriptor, keep it open until they
    // drop and always return that same one from as_raw_fd(); the AsyncFd
    // owns the listener, so the descriptor outlives the registration.
    Ok(unsafe { tokio::io::unix::AsyncFd::register(listener) }?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_descriptor_is_adopted_once_and_closed_ones_are_refused() {
        let sock = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        // A number of its own: adopted numbers stay taken for the process,
        // and tests run side by side.
        let raw =
            nix::fcntl::fcntl(&sock, nix::fcntl::FcntlArg::F_DUPFD_CLOEXEC(700)).expect("dup");
        drop(sock);
        let owned = adopt_fd(raw).expect("open descriptor");
        assert!(adopt_fd(raw).is_err(), "a second owner");
        drop(owned);
        assert!(adopt_fd(1).is_err(), "stdout is not a listener");
        assert!(adopt_fd(100_000).is_err(), "not open");
    }
}
