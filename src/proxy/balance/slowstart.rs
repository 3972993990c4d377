//! `slowstart <time>` without I/O: how far a server that came back UP has
//! warmed up, as haproxy 2.6 computes it (`server_recalc_eweight`,
//! `srv_dynamic_maxconn`).
//!
//! haproxy keeps the slowstart in whole seconds (rounded up) and counts the
//! time since the server's last change in whole seconds too, recomputing once
//! a second from the change: the weight factor (out of [`FULL`]) is
//! `(16 × elapsed + slowstart) / slowstart`, so a 4 s slowstart gives 1, 5,
//! 9, 13 sixteenths, then the full weight; `maxconn` grows as
//! `max(1, maxconn × ⌊100 × elapsed / slowstart⌋ / 100)`. Observed on 2.6
//! (`show stat` weight 7, 32, 57, 82, 100 for weight 100 over 4 s, and
//! request shares 1/17, 5/21, 9/25, 13/29).

use std::time::Duration;

/// The factor of a server at full weight (haproxy's `BE_WEIGHT_SCALE`).
pub const FULL: u32 = 16;

/// Where a warming server stands `elapsed` after it came back UP.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct Ramp {
    /// Weight factor, `1..FULL` (the effective weight is `weight × factor`).
    pub factor: u32,
    /// Percentage of `maxconn` allowed (`0..100`; at least one connection).
    pub percent: u32,
    /// When the next step is due, counted from the change.
    pub next: Duration,
}

/// haproxy's slowstart in whole seconds (at least 1 for a non-zero time).
fn seconds(slowstart: Duration) -> u64 {
    slowstart
        .as_millis()
        .div_ceil(1000)
        .try_into()
        .unwrap_or(u64::MAX)
}

/// The ramp of a server with `slowstart`, `elapsed` after it came back UP;
/// None once it is over (or without slowstart): full weight and `maxconn`.
pub fn ramp(elapsed: Duration, slowstart: Duration) -> Option<Ramp> {
    let total = seconds(slowstart);
    let k = elapsed.as_secs();
    if total == 0 || k >= total {
        return None;
    }
    let factor = (u64::from(FULL) * k + total) / total;
    Some(Ramp {
        factor: u32::try_from(factor).unwrap_or(FULL).clamp(1, FULL),
        percent: u32::try_from(100 * k / total).unwrap_or(100),
        next: Duration::from_secs(k + 1),
    })
}

/// A `maxconn` (0: none) during a ramp at `percent`.
pub fn maxconn(maxconn: u32, percent: Option<u32>) -> u32 {
    match percent {
        Some(p) if maxconn > 0 => (maxconn * p / 100).max(1),
        _ => maxconn,
    }
}

/// What `show stat` shows as a server's weight: the effective weight
/// scaled back, rounded up.
pub fn shown(weight: u32, factor: u32) -> u32 {
    (weight * factor).div_ceil(FULL)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A virtual clock: the ramp at each 100 ms over the window.
    fn factors(slowstart: Duration) -> Vec<(u64, Option<u32>)> {
        (0..60)
            .map(|t| {
                let at = Duration::from_millis(t * 100);
                (t * 100, ramp(at, slowstart).map(|r| r.factor))
            })
            .collect()
    }

    #[test]
    fn four_seconds_steps_once_a_second_as_haproxy() {
        let f = factors(Duration::from_secs(4));
        for (ms, factor) in f {
            let want = match ms {
                0..=999 => Some(1),
                1000..=1999 => Some(5),
                2000..=2999 => Some(9),
                3000..=3999 => Some(13),
                _ => None,
            };
            assert_eq!(factor, want, "at {ms} ms");
        }
    }

    #[test]
    fn shown_weights_match_show_stat() {
        let ss = Duration::from_secs(4);
        let four: Vec<u32> = (0..5)
            .map(|k| {
                let f = ramp(Duration::from_secs(k), ss).map_or(FULL, |r| r.factor);
                shown(100, f)
            })
            .collect();
        assert_eq!(four, [7, 32, 57, 82, 100]);
        // 3 s: integer factor (16k + 3) / 3 → 1, 6, 11.
        let three: Vec<u32> = (0..4)
            .map(|k| {
                let f =
                    ramp(Duration::from_secs(k), Duration::from_secs(3)).map_or(FULL, |r| r.factor);
                shown(100, f)
            })
            .collect();
        assert_eq!(three, [7, 38, 69, 100]);
        assert_eq!(shown(1, 1), 1, "a weight of 1 shows 1 all along");
    }

    #[test]
    fn subsecond_slowstart_rounds_up_and_next_step_is_a_second_on() {
        let r = ramp(Duration::from_millis(300), Duration::from_millis(500)).expect("warming");
        assert_eq!(
            (r.factor, r.percent, r.next),
            (1, 0, Duration::from_secs(1))
        );
        assert_eq!(
            ramp(Duration::from_secs(1), Duration::from_millis(500)),
            None
        );
        assert_eq!(ramp(Duration::ZERO, Duration::ZERO), None, "no slowstart");
    }

    #[test]
    fn maxconn_ramps_from_one() {
        let ss = Duration::from_secs(4);
        let caps: Vec<u32> = (0..5)
            .map(|k| maxconn(10, ramp(Duration::from_secs(k), ss).map(|r| r.percent)))
            .collect();
        assert_eq!(caps, [1, 2, 5, 7, 10]);
        assert_eq!(maxconn(0, Some(50)), 0, "no maxconn stays unlimited");
    }
}
