//! Dropping privileges as haproxy 2.6 does after binding: `chroot` (then
//! `chdir /`), then `setgroups`/`setgid` and `setuid` for the global
//! `user`/`group`/`uid`/`gid`. Messages are haproxy's.

use nix::unistd::{Gid, Group, Uid, User};
use std::path::Path;

/// The ids to switch to; 0 means "keep" in haproxy (`uid 0` does nothing).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Identity {
    pub uid: u32,
    pub gid: u32,
}

impl Identity {
    /// Resolves `user`/`group` names (the numeric `uid`/`gid` win when both
    /// are given, as the first one set does in haproxy). The error is
    /// haproxy's: `cannot find user id for 'x' (0:Success)`.
    pub fn resolve(
        user: Option<&str>,
        uid: Option<u32>,
        group: Option<&str>,
        gid: Option<u32>,
    ) -> Result<Identity, String> {
        let uid = match (uid, user) {
            (Some(n), _) => n,
            (None, Some(name)) => match User::from_name(name) {
                Ok(Some(u)) => u.uid.as_raw(),
                _ => return Err(format!("cannot find user id for '{name}' (0:Success)")),
            },
            (None, None) => 0,
        };
        let gid = match (gid, group) {
            (Some(n), _) => n,
            (None, Some(name)) => match Group::from_name(name) {
                Ok(Some(g)) => g.gid.as_raw(),
                _ => return Err(format!("cannot find group id for '{name}' (0:Success)")),
            },
            (None, None) => 0,
        };
        Ok(Identity { uid, gid })
    }

    /// Switches to the group, then the user. `Ok` carries a warning when
    /// the supplementary groups could not be dropped; `Err` is the alert
    /// (`Cannot set gid 65534.`), after which haproxy exits 1.
    pub fn apply(&self) -> Result<Option<String>, String> {
        let mut warning = None;
        if self.gid != 0 {
            let has_groups = nix::unistd::getgroups().is_ok_and(|g| !g.is_empty());
            if has_groups && nix::unistd::setgroups(&[]).is_err() {
                warning = Some(
                    "Failed to drop supplementary groups. Using 'gid'/'group' without 'uid'/'user' is generally useless."
                        .to_string(),
                );
            }
            if nix::unistd::setgid(Gid::from_raw(self.gid)).is_err() {
                return Err(format!("Cannot set gid {}.", self.gid));
            }
        }
        if self.uid != 0 && nix::unistd::setuid(Uid::from_raw(self.uid)).is_err() {
            return Err(format!("Cannot set uid {}.", self.uid));
        }
        Ok(warning)
    }
}

/// `chroot DIR` then `chdir /`; the alert is `Cannot chroot(DIR).`.
pub fn chroot(dir: &Path) -> Result<(), String> {
    nix::unistd::chroot(dir)
        .and_then(|()| nix::unistd::chdir("/"))
        .map_err(|_| format!("Cannot chroot({}).", dir.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_resolve_and_unknown_ones_are_haproxys_errors() {
        let root = Identity::resolve(Some("root"), None, Some("root"), None).expect("root");
        assert_eq!(root, Identity { uid: 0, gid: 0 });
        let numeric = Identity::resolve(Some("root"), Some(65534), None, Some(7)).expect("ids");
        assert_eq!(numeric, Identity { uid: 65534, gid: 7 });
        assert_eq!(
            Identity::resolve(Some("no-such-user-pharos"), None, None, None),
            Err("cannot find user id for 'no-such-user-pharos' (0:Success)".into())
        );
        assert_eq!(
            Identity::resolve(None, None, Some("no-such-group-pharos"), None),
            Err("cannot find group id for 'no-such-group-pharos' (0:Success)".into())
        );
        // Nothing to do keeps the process as it is.
        assert_eq!(Identity::default().apply(), Ok(None));
    }

    #[test]
    fn chroot_into_a_missing_directory_is_refused() {
        assert_eq!(
            chroot(Path::new("/nonexistent-pharos")),
            Err("Cannot chroot(/nonexistent-pharos).".into())
        );
    }
}
