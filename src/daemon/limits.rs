//! haproxy 2.6's file-descriptor arithmetic: the default global `maxconn`
//! derived from `RLIMIT_NOFILE`, the descriptors a configuration needs
//! (`maxsock`), and raising the limit to it (or to `ulimit-n`).

use crate::model::Endpoint;
use crate::model::haproxy::HaproxyConfig;
use nix::sys::resource::{Resource, getrlimit, setrlimit};

/// haproxy's floor for the automatic `maxconn` (`DEFAULT_MAXCONN`).
const DEFAULT_MAXCONN: i64 = 100;
/// Descriptors haproxy reserves before counting anything (stdio, logs…).
const RESERVED: i64 = 10;

/// What a configuration holds open besides its connections.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FdNeeds {
    /// Listening sockets (one per address and port of every `bind`, and
    /// one per `stats socket`).
    pub listeners: u32,
    /// Servers with health checks (one socket each).
    pub checks: u32,
    /// Connections that bypass `maxconn` (the stats socket's `maxconn`).
    pub extra: u32,
    /// Threads: one poller and one wake-up pipe (two descriptors) each.
    pub threads: u32,
}

impl FdNeeds {
    /// What `cfg` holds open, running `threads` threads. As in haproxy
    /// 2.6, the listeners of disabled proxies count too.
    pub fn of(cfg: &HaproxyConfig, threads: u32) -> FdNeeds {
        let sockets = |e: &Endpoint| match e {
            Endpoint::Inet {
                ports: Some((first, last)),
                ..
            } => u32::from(last.saturating_sub(*first)) + 1,
            _ => 1,
        };
        let binds: u32 = cfg
            .proxies
            .iter()
            .flat_map(|p| &p.binds)
            .flat_map(|b| &b.addresses)
            .map(sockets)
            .sum();
        let stats = &cfg.global.stats_sockets;
        let checks = cfg
            .proxies
            .iter()
            .flat_map(|p| &p.servers)
            .filter(|s| s.health_check.is_some())
            .count();
        FdNeeds {
            listeners: binds + u32::try_from(stats.len()).unwrap_or(u32::MAX),
            checks: u32::try_from(checks).unwrap_or(u32::MAX),
            // The stats socket's connections are not under `maxconn`.
            extra: if stats.is_empty() {
                0
            } else {
                cfg.global.stats_maxconn
            },
            threads,
        }
    }

    /// Descriptors needed apart from the connections.
    fn fixed(&self) -> i64 {
        RESERVED
            + i64::from(self.listeners)
            + i64::from(self.checks)
            + i64::from(self.extra)
            + 3 * i64::from(self.threads)
    }

    /// The `maxconn` haproxy picks when none is set: half of what the
    /// larger of the soft and hard limits leaves (two descriptors per
    /// connection), at least 100. An unlimited limit reads as -1 there (an
    /// `unsigned int` cast), which gives the floor.
    pub fn ideal_maxconn(&self, soft: u64, hard: u64) -> u32 {
        let boot = |l: u64| i64::from(l as u32 as i32);
        let remain = boot(soft).max(boot(hard)) - self.fixed();
        let maxconn = (remain / 2).max(DEFAULT_MAXCONN);
        u32::try_from(maxconn).unwrap_or(u32::MAX)
    }

    /// The descriptors for `maxconn` connections (haproxy's `maxsock`).
    pub fn maxsock(&self, maxconn: u32) -> u64 {
        u64::try_from(self.fixed() + 2 * i64::from(maxconn)).unwrap_or(0)
    }
}

/// The current soft and hard `RLIMIT_NOFILE`.
pub fn nofile() -> (u64, u64) {
    getrlimit(Resource::RLIMIT_NOFILE).unwrap_or((1024, 1024))
}

/// Raises the soft `RLIMIT_NOFILE` to `want` (and the hard one with it
/// when needed); a limit already that high is left as it is (haproxy 2.6
/// never lowers it: `ulimit-n 100` under `ulimit -n 20000` keeps 20000).
/// On failure returns the soft limit in force, which haproxy's message
/// reports.
pub fn set_nofile(want: u64) -> Result<(), u64> {
    let (soft, hard) = nofile();
    if want <= soft {
        return Ok(());
    }
    match setrlimit(Resource::RLIMIT_NOFILE, want, hard.max(want)) {
        Ok(()) => Ok(()),
        Err(_) => Err(nofile().0),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Numbers read off haproxy 2.6.12: `-V` prints the automatic maxconn,
    /// and the refusal names the maxsock it wanted.
    #[test]
    fn arithmetic_as_haproxy_2_6() {
        let one = FdNeeds {
            listeners: 1,
            threads: 1,
            ..FdNeeds::default()
        };
        assert_eq!(one.ideal_maxconn(20000, 20000), 9993);
        assert_eq!(one.ideal_maxconn(1024, 1024), 505);
        assert_eq!(one.ideal_maxconn(64, 64), 100);
        assert_eq!(one.ideal_maxconn(u64::MAX, u64::MAX), 100);
        assert_eq!(one.maxsock(20000), 40014);
        let two_threads = FdNeeds { threads: 2, ..one };
        assert_eq!(two_threads.maxsock(20000), 40017);
        let more = FdNeeds {
            listeners: 4,
            checks: 2,
            threads: 1,
            extra: 0,
        };
        assert_eq!(more.maxsock(20000), 40019);
    }

    #[test]
    fn counted_from_a_configuration_like_haproxy() {
        let text = "global\n  nbthread 1\n  stats socket /tmp/x.sock\n  stats socket /tmp/y.sock\n  stats maxconn 5\n\
frontend f\n  disabled\n  bind 127.0.0.1:17005\n\
listen l\n  bind 127.0.0.1:17001\n  bind 127.0.0.1:17002-17004\n  server a 127.0.0.1:1 check\n  server b 127.0.0.1:2\n";
        let dir = std::env::temp_dir().join(format!("pharos-limits-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        let file = dir.join("h.cfg");
        std::fs::write(&file, text).expect("write");
        let out =
            crate::conf::haproxy::read_files(&[file], &crate::conf::haproxy::Options::default());
        let _ = std::fs::remove_dir_all(&dir);
        let needs = FdNeeds::of(&out.config, 1);
        assert_eq!(
            needs,
            FdNeeds {
                listeners: 7,
                checks: 1,
                extra: 5,
                threads: 1
            }
        );
    }

    #[test]
    fn a_lower_want_leaves_the_limit_as_it_is() {
        let (soft, _) = nofile();
        assert!(set_nofile(soft / 2).is_ok());
        assert_eq!(nofile().0, soft);
    }
}
