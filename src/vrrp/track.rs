//! Tracking, sans-IO (reference/keepalived.md §3.4): what tracked objects
//! (interfaces, vrrp_scripts, track files, processes, BFD) do to an
//! instance — FAULT or a priority change — and vrrp_script's rise/fall
//! counting. The driver feeds results in; `Input::Fault`/`Input::Priority`
//! of `fsm` come out.

/// The last known state of a tracked object.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum Status {
    /// No result yet (a script that has not run).
    Unknown,
    Up,
    Down,
    /// A track_file's number: multiplied by the weight (weight 0: any
    /// non-zero value is a failure).
    Value(i64),
}

/// One tracked object as an instance sees it.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct Tracked {
    /// 0: the object's failure is the instance's FAULT. Otherwise moves the
    /// priority: positive weights count while up, negative while down.
    pub weight: i32,
    /// Inverts the sense: `weight 0 reverse` is FAULT while up; a positive
    /// reversed weight is subtracted while up, a negative one added while down.
    pub reverse: bool,
    pub status: Status,
}

/// What tracking makes of an instance.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Verdict {
    Fault,
    Priority(u8),
}

/// keepalived's arithmetic: FAULT if any weight-0 object is in its failing
/// state (or has no result yet), else `clamp(base + Σ, 1, 254)`; an address
/// owner (255) ignores weights.
pub fn verdict(base: u8, tracked: &[Tracked]) -> Verdict {
    let mut sum: i64 = 0;
    for t in tracked {
        if let Status::Value(v) = t.status {
            let sign = if t.reverse { -1 } else { 1 };
            let add = v.saturating_mul(i64::from(t.weight)).saturating_mul(sign);
            if (t.weight == 0 && v != 0) || add < -253 {
                return Verdict::Fault;
            }
            sum += add;
            continue;
        }
        let failing = match (t.status, t.reverse) {
            (Status::Unknown, _) => {
                if t.weight == 0 {
                    return Verdict::Fault;
                }
                continue;
            }
            (Status::Down, false) | (Status::Up, true) => true,
            (Status::Up, false) | (Status::Down, true) | (Status::Value(_), _) => false,
        };
        if t.weight == 0 {
            if failing {
                return Verdict::Fault;
            }
            continue;
        }
        let w = i64::from(t.weight);
        let up = t.status == Status::Up;
        sum += match (w > 0, t.reverse, up) {
            (true, false, true) => w,
            (true, true, true) => -w,
            (false, false, false) => w,
            (false, true, false) => -w,
            _ => 0,
        };
    }
    if base == 255 {
        return Verdict::Priority(255);
    }
    let p = (i64::from(base) + sum).clamp(1, 254);
    Verdict::Priority(u8::try_from(p).unwrap_or(254))
}

/// vrrp_script results → status, with `rise`/`fall` consecutive results
/// needed to change once a first result is known (`init_fail` starts Down).
#[derive(Clone, Debug)]
pub struct ScriptState {
    rise: u32,
    fall: u32,
    status: Status,
    /// Consecutive results against the current status.
    streak: u32,
}

impl ScriptState {
    /// A script with keepalived's `rise`/`fall` (both at least 1).
    pub fn new(rise: u32, fall: u32, init_fail: bool) -> Self {
        ScriptState {
            rise: rise.max(1),
            fall: fall.max(1),
            status: if init_fail {
                Status::Down
            } else {
                Status::Unknown
            },
            streak: 0,
        }
    }

    pub fn status(&self) -> Status {
        self.status
    }

    /// One run's result (exit 0 = `true`; non-zero or timeout = `false`).
    /// Returns the new status when it changed.
    pub fn result(&mut self, ok: bool) -> Option<Status> {
        let target = if ok { Status::Up } else { Status::Down };
        if self.status == Status::Unknown {
            self.status = target;
            self.streak = 0;
            return Some(target);
        }
        if self.status == target {
            self.streak = 0;
            return None;
        }
        self.streak += 1;
        let needed = if ok { self.rise } else { self.fall };
        if self.streak >= needed {
            self.status = target;
            self.streak = 0;
            return Some(target);
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(weight: i32, reverse: bool, status: Status) -> Tracked {
        Tracked {
            weight,
            reverse,
            status,
        }
    }

    #[test]
    fn weight_zero_failure_is_fault() {
        assert_eq!(verdict(100, &[t(0, false, Status::Down)]), Verdict::Fault);
        assert_eq!(
            verdict(100, &[t(0, false, Status::Up)]),
            Verdict::Priority(100)
        );
        assert_eq!(
            verdict(100, &[t(0, true, Status::Up)]),
            Verdict::Fault,
            "reverse: fault while up"
        );
        assert_eq!(
            verdict(100, &[t(0, false, Status::Unknown)]),
            Verdict::Fault,
            "no result yet"
        );
    }

    #[test]
    fn weights_move_the_priority_like_keepalived() {
        assert_eq!(
            verdict(100, &[t(20, false, Status::Up)]),
            Verdict::Priority(120)
        );
        assert_eq!(
            verdict(100, &[t(20, false, Status::Down)]),
            Verdict::Priority(100)
        );
        assert_eq!(
            verdict(100, &[t(-30, false, Status::Down)]),
            Verdict::Priority(70)
        );
        assert_eq!(
            verdict(100, &[t(-30, false, Status::Up)]),
            Verdict::Priority(100)
        );
        assert_eq!(
            verdict(100, &[t(20, true, Status::Up)]),
            Verdict::Priority(80)
        );
        assert_eq!(
            verdict(100, &[t(-30, true, Status::Down)]),
            Verdict::Priority(130)
        );
        assert_eq!(
            verdict(100, &[t(20, false, Status::Unknown)]),
            Verdict::Priority(100)
        );
    }

    #[test]
    fn priority_is_clamped_and_owners_ignore_weights() {
        assert_eq!(
            verdict(250, &[t(50, false, Status::Up)]),
            Verdict::Priority(254)
        );
        assert_eq!(
            verdict(10, &[t(-50, false, Status::Down)]),
            Verdict::Priority(1)
        );
        assert_eq!(
            verdict(255, &[t(-50, false, Status::Down)]),
            Verdict::Priority(255)
        );
        assert_eq!(verdict(255, &[t(0, false, Status::Down)]), Verdict::Fault);
    }

    #[test]
    fn rise_and_fall_count_consecutive_results() {
        let mut s = ScriptState::new(2, 3, false);
        assert_eq!(s.result(true), Some(Status::Up), "the first result decides");
        assert_eq!(s.result(false), None);
        assert_eq!(s.result(false), None);
        assert_eq!(s.result(true), None, "a success resets the streak");
        assert_eq!(s.result(false), None);
        assert_eq!(s.result(false), None);
        assert_eq!(s.result(false), Some(Status::Down));
        assert_eq!(s.result(true), None);
        assert_eq!(s.result(true), Some(Status::Up));
    }

    #[test]
    fn init_fail_starts_down() {
        let mut s = ScriptState::new(1, 1, true);
        assert_eq!(s.status(), Status::Down);
        assert_eq!(s.result(true), Some(Status::Up));
    }
}
