//! `vrrp_track_process`: a process is "up" while between `quorum` (1) and
//! `quorum_max` instances of it run. keepalived learns of process starts
//! and exits from the kernel's proc connector; Pharos reads /proc on the
//! driver's one-second beat, so a change is seen up to a second later.
//! Matching: the name against the process's `comm` (15 characters), or
//! against argv[0] with `full_command`; parameters (`process NAME PARAMS…`)
//! against the remaining arguments — `exact` (default): the same list,
//! `initial`: a prefix, `partial`: a contiguous run.

use super::track::Status;
use crate::model::keepalived::RawBlock;

/// How configured parameters must match a process's arguments.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum ParamMatch {
    Exact,
    Initial,
    Partial,
}

/// One `vrrp_track_process` block.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TrackProcess {
    pub name: String,
    pub process: String,
    pub params: Vec<String>,
    pub param_match: ParamMatch,
    pub full_command: bool,
    pub quorum: u32,
    pub quorum_max: u32,
    pub weight: i32,
    pub reverse: bool,
}

/// A running process as /proc shows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProcInfo {
    pub comm: String,
    pub argv: Vec<String>,
}

impl TrackProcess {
    /// Reads a `vrrp_track_process NAME { … }` block; None without `process`.
    pub fn from_block(b: &RawBlock) -> Option<TrackProcess> {
        let mut t = TrackProcess {
            name: b.args.first()?.clone(),
            process: String::new(),
            params: Vec::new(),
            param_match: ParamMatch::Exact,
            full_command: false,
            quorum: 1,
            quorum_max: u32::MAX,
            weight: 0,
            reverse: false,
        };
        for o in &b.options {
            let first = o.args.first().map(String::as_str);
            match o.keyword.as_str() {
                "process" => {
                    let (name, params) = o.args.split_first()?;
                    t.process = name.clone();
                    t.params = params.to_vec();
                }
                "param_match" => {
                    t.param_match = match first {
                        Some("initial") => ParamMatch::Initial,
                        Some("partial") => ParamMatch::Partial,
                        _ => ParamMatch::Exact,
                    }
                }
                "full_command" => t.full_command = true,
                "quorum" => t.quorum = first.and_then(|v| v.parse().ok()).unwrap_or(1),
                "quorum_max" => {
                    t.quorum_max = first.and_then(|v| v.parse().ok()).unwrap_or(u32::MAX)
                }
                "weight" => {
                    t.weight = first.and_then(|v| v.parse().ok()).unwrap_or(0);
                    t.reverse = o.args.get(1).is_some_and(|r| r == "reverse");
                }
                _ => {}
            }
        }
        (!t.process.is_empty()).then_some(t)
    }

    /// Whether `p` is one of the tracked processes.
    pub fn matches(&self, p: &ProcInfo) -> bool {
        let name_ok = if self.full_command {
            p.argv.first().is_some_and(|a0| *a0 == self.process)
        } else {
            // comm is the executable's name cut to 15 characters.
            let want: String = basename(&self.process).chars().take(15).collect();
            p.comm == want
        };
        if !name_ok {
            return false;
        }
        if self.params.is_empty() {
            return true;
        }
        let args = p.argv.get(1..).unwrap_or(&[]);
        match self.param_match {
            ParamMatch::Exact => args == self.params.as_slice(),
            ParamMatch::Initial => args.starts_with(&self.params),
            ParamMatch::Partial => args
                .windows(self.params.len())
                .any(|w| w == self.params.as_slice()),
        }
    }

    /// Up while the number of matching processes is within the quorum.
    pub fn status(&self, procs: &[ProcInfo]) -> Status {
        let n = procs.iter().filter(|p| self.matches(p)).count();
        let n = u32::try_from(n).unwrap_or(u32::MAX);
        if n >= self.quorum && n <= self.quorum_max {
            Status::Up
        } else {
            Status::Down
        }
    }
}

/// Every usable `vrrp_track_process` block of a configuration, in order.
pub fn definitions(cfg: &crate::model::keepalived::KeepalivedConfig) -> Vec<TrackProcess> {
    cfg.other_blocks
        .iter()
        .filter(|b| b.keyword == "vrrp_track_process")
        .filter_map(TrackProcess::from_block)
        .collect()
}

fn basename(p: &str) -> &str {
    p.rsplit('/').next().unwrap_or(p)
}

/// Every process of the system (threads excluded), from /proc.
pub fn scan() -> Vec<ProcInfo> {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    dir.flatten()
        .filter(|e| {
            e.file_name()
                .to_string_lossy()
                .bytes()
                .all(|b| b.is_ascii_digit())
        })
        .filter_map(|e| {
            let path = e.path();
            let comm = std::fs::read_to_string(path.join("comm")).ok()?;
            let cmdline = std::fs::read(path.join("cmdline")).unwrap_or_default();
            let argv = cmdline
                .split(|&b| b == 0)
                .filter(|a| !a.is_empty())
                .map(|a| String::from_utf8_lossy(a).into_owned())
                .collect();
            Some(ProcInfo {
                comm: comm.trim_end_matches('\n').to_string(),
                argv,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::keepalived::RawOption;

    fn opt(k: &str, a: &[&str]) -> RawOption {
        RawOption {
            keyword: k.into(),
            args: a.iter().map(|s| s.to_string()).collect(),
        }
    }

    fn p(comm: &str, argv: &[&str]) -> ProcInfo {
        ProcInfo {
            comm: comm.into(),
            argv: argv.iter().map(|s| s.to_string()).collect(),
        }
    }

    #[test]
    fn names_parameters_and_quorum() {
        let b = RawBlock {
            keyword: "vrrp_track_process".into(),
            args: vec!["haproxy".into()],
            options: vec![
                opt("process", &["/usr/sbin/haproxy", "-f"]),
                opt("param_match", &["initial"]),
                opt("quorum", &["2"]),
                opt("weight", &["-20", "reverse"]),
            ],
            entries: vec![],
            blocks: vec![],
        };
        let t = TrackProcess::from_block(&b).expect("block");
        assert_eq!((t.quorum, t.weight, t.reverse), (2, -20, true));
        let h = p("haproxy", &["/usr/sbin/haproxy", "-f", "/etc/haproxy.cfg"]);
        assert!(t.matches(&h));
        assert!(!t.matches(&p("haproxy", &["haproxy", "-c"])));
        assert_eq!(t.status(std::slice::from_ref(&h)), Status::Down, "quorum 2");
        assert_eq!(t.status(&[h.clone(), h]), Status::Up);
        let long = TrackProcess {
            process: "a_very_long_process_name".into(),
            params: vec![],
            ..t
        };
        assert!(
            long.matches(&p("a_very_long_pro", &[])),
            "comm is 15 characters"
        );
    }
}
