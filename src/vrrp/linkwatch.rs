//! Link changes as they happen: a netlink socket subscribed to the
//! `RTMGRP_LINK` multicast group. keepalived reacts to a link going down at
//! once (FAULT, priority-0 advert); the driver polls this socket's fd with
//! its VRRP sockets and re-reads the links when it wakes, instead of
//! noticing up to a second late.

use nix::sys::socket::{
    AddressFamily, MsgFlags, NetlinkAddr, SockFlag, SockProtocol, SockType, bind, recv, socket,
};
use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};

/// `RTMGRP_LINK`: the group of link (RTM_NEWLINK/DELLINK) notifications.
const RTMGRP_LINK: u32 = 1;

/// A subscription to link notifications.
pub struct LinkWatch {
    fd: OwnedFd,
}

impl LinkWatch {
    /// Subscribes (non-blocking socket).
    pub fn open() -> io::Result<LinkWatch> {
        let fd = socket(
            AddressFamily::Netlink,
            SockType::Raw,
            SockFlag::SOCK_NONBLOCK | SockFlag::SOCK_CLOEXEC,
            SockProtocol::NetlinkRoute,
        )?;
        bind(fd.as_raw_fd(), &NetlinkAddr::new(0, RTMGRP_LINK))?;
        Ok(LinkWatch { fd })
    }

    /// The socket, for polling.
    pub fn as_fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }

    /// Reads every pending notification; whether there was any. The
    /// content does not matter: the caller re-reads the links.
    pub fn drain(&self) -> bool {
        let mut buf = [0u8; 8192];
        let mut any = false;
        // Bounded: a flood of notifications cannot keep us here.
        for _ in 0..64 {
            match recv(self.fd.as_raw_fd(), &mut buf, MsgFlags::MSG_DONTWAIT) {
                Ok(n) if n > 0 => any = true,
                _ => break,
            }
        }
        any
    }
}
