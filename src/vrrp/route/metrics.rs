//! The `RTA_METRICS` options of a route line (`mtu`, `advmss`, `rtt`,
//! `congctl`, …) as keepalived 2.2.7 reads and sends them: `lock` before the
//! value sets the `RTAX_LOCK` bit, times are clamped to 200 ms..120 s, and
//! the nested attributes go out in keepalived's order, lock last.
//!
//! Owns: the metrics of one route. Must not touch: the rest of the line.

use netlink_packet_core::DefaultNla;
use netlink_packet_route::route::RouteMetric;

use super::addr::Words;
use super::names::number;

/// `RTAX_*` numbers, for the lock bits and `congctl`.
const RTAX_RTT: u32 = 4;
const RTAX_RTTVAR: u32 = 5;
const RTAX_SSTHRESH: u32 = 6;
const RTAX_CWND: u32 = 7;
const RTAX_ADVMSS: u32 = 8;
const RTAX_REORDERING: u32 = 9;
const RTAX_MTU: u32 = 2;
const RTAX_RTO_MIN: u32 = 13;
const RTAX_CC_ALGO: u16 = 16;
/// `RTAX_FEATURE_ECN`.
const FEATURE_ECN: u32 = 1;
/// The kernel's RTO bounds (200 ms and 120 s), in milliseconds.
const RTT_MIN_MS: u64 = 200;
const RTT_MAX_MS: u64 = 120_000;

/// The metrics of one route; `None` = not written.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RouteMetrics {
    /// `congctl NAME`.
    pub congctl: Option<String>,
    /// `rtt`, in the kernel's 1/8 ms.
    pub rtt: Option<u32>,
    /// `rttvar`, in the kernel's 1/4 ms.
    pub rttvar: Option<u32>,
    /// `rto_min`, in ms.
    pub rto_min: Option<u32>,
    /// `features ecn` bits.
    pub features: u32,
    /// `mtu`.
    pub mtu: Option<u32>,
    /// `window`.
    pub window: Option<u32>,
    /// `ssthresh`.
    pub ssthresh: Option<u32>,
    /// `cwnd`.
    pub cwnd: Option<u32>,
    /// `advmss`.
    pub advmss: Option<u32>,
    /// `reordering`.
    pub reordering: Option<u32>,
    /// `hoplimit`.
    pub hoplimit: Option<u32>,
    /// `initcwnd`.
    pub initcwnd: Option<u32>,
    /// `initrwnd`.
    pub initrwnd: Option<u32>,
    /// `quickack 0|1`.
    pub quickack: Option<u32>,
    /// `fastopen_no_cookie 0|1`.
    pub fastopen_no_cookie: Option<u32>,
    /// `RTAX_LOCK`: bit `1 << RTAX_x` for each `x lock N`.
    pub lock: u32,
}

/// Builds one numeric metric attribute.
type MakeMetric = fn(u32) -> RouteMetric;

/// What reading a metric option did.
pub(super) enum Step {
    /// Not a metric keyword.
    NotMine,
    /// Read; the index of the last word used.
    Read(usize),
    /// Invalid; keepalived drops the route (the notes say why).
    Invalid,
}

impl RouteMetrics {
    /// Reads the metric option at word `i`, if it is one.
    pub(super) fn read(&mut self, w: &mut Words<'_>, i: usize) -> Step {
        let Some(kw) = w.words.get(i).map(String::as_str) else {
            return Step::NotMine;
        };
        // Keywords that take `lock` before their value.
        let lock_bit = match kw {
            "mtu" => Some(RTAX_MTU),
            "advmss" => Some(RTAX_ADVMSS),
            "rtt" => Some(RTAX_RTT),
            "rttvar" => Some(RTAX_RTTVAR),
            "reordering" => Some(RTAX_REORDERING),
            "cwnd" => Some(RTAX_CWND),
            "ssthresh" => Some(RTAX_SSTHRESH),
            "rto_min" => Some(RTAX_RTO_MIN),
            "congctl" => Some(u32::from(RTAX_CC_ALGO)),
            "hoplimit" | "window" | "initcwnd" | "initrwnd" | "features" | "quickack"
            | "fastopen_no_cookie" => None,
            _ => return Step::NotMine,
        };
        let mut j = i + 1;
        let Some(mut v) = w.value(j) else {
            return Step::Invalid;
        };
        if let Some(bit) = lock_bit.filter(|_| v == "lock") {
            self.lock |= 1 << bit;
            j += 1;
            let Some(next) = w.value(j) else {
                return Step::Invalid;
            };
            v = next;
        }
        let notes = &mut w.notes;
        let u32_of = |what: &str, notes: &mut Vec<String>| number(v, u32::MAX, what, notes);
        let ok = match kw {
            "mtu" => set(
                &mut self.mtu,
                u32_of("Invalid MTU %s specified for route", notes),
            ),
            "hoplimit" => set(
                &mut self.hoplimit,
                number(v, 255, "Invalid hoplimit %s specified for route", notes),
            ),
            "advmss" => set(
                &mut self.advmss,
                u32_of("Invalid advmss %s specified for route", notes),
            ),
            "rtt" => set(&mut self.rtt, time(v, 8, "Invalid rtt %s for route", notes)),
            "rttvar" => set(
                &mut self.rttvar,
                time(v, 4, "Invalid rttvar %s for route", notes),
            ),
            "rto_min" => set(
                &mut self.rto_min,
                time(v, 1, "Invalid rto_min value %s specified for route", notes),
            ),
            "reordering" => set(
                &mut self.reordering,
                u32_of("Invalid reordering value %s specified for route", notes),
            ),
            "window" => set(
                &mut self.window,
                u32_of("Invalid window value %s specified for route", notes),
            ),
            "cwnd" => set(
                &mut self.cwnd,
                u32_of("Invalid cwnd value %s specified for route", notes),
            ),
            "ssthresh" => set(
                &mut self.ssthresh,
                u32_of("Invalid ssthresh value %s specified for route", notes),
            ),
            "initcwnd" => set(
                &mut self.initcwnd,
                u32_of("Invalid initcwnd value %s specified for route", notes),
            ),
            "initrwnd" => set(
                &mut self.initrwnd,
                u32_of("Invalid initrwnd value %s specified for route", notes),
            ),
            "quickack" => set(
                &mut self.quickack,
                number(v, 1, "Invalid quickack value %s specified for route", notes),
            ),
            "fastopen_no_cookie" => set(
                &mut self.fastopen_no_cookie,
                number(
                    v,
                    1,
                    "Invalid fastopen_no_cookie value %s specified for route",
                    notes,
                ),
            ),
            "features" => {
                // Anything but `ecn` is reported and skipped, not fatal.
                if v == "ecn" {
                    self.features |= FEATURE_ECN;
                } else {
                    notes.push(format!("feature {v} not supported"));
                }
                true
            }
            _ => {
                self.congctl = Some(v.to_string());
                true
            }
        };
        if ok { Step::Read(j) } else { Step::Invalid }
    }

    /// Whether any metric was written (keepalived then sends `RTA_METRICS`).
    pub fn is_empty(&self) -> bool {
        self.attributes().is_empty()
    }

    /// The nested `RTA_METRICS` attributes in keepalived's order, `RTAX_LOCK` last.
    pub fn attributes(&self) -> Vec<RouteMetric> {
        let mut out = Vec::new();
        if let Some(c) = &self.congctl {
            // keepalived sends the name without a NUL (the crate's CcAlgo adds one).
            out.push(RouteMetric::Other(DefaultNla::new(
                RTAX_CC_ALGO,
                c.as_bytes().to_vec(),
            )));
        }
        let numbered: [(Option<u32>, MakeMetric); 15] = [
            (self.rtt, RouteMetric::Rtt),
            (self.rttvar, RouteMetric::RttVar),
            (self.rto_min, RouteMetric::RtoMin),
            (
                (self.features != 0).then_some(self.features),
                RouteMetric::Features,
            ),
            (self.mtu, RouteMetric::Mtu),
            (self.window, RouteMetric::Window),
            (self.ssthresh, RouteMetric::SsThresh),
            (self.cwnd, RouteMetric::Cwnd),
            (self.advmss, RouteMetric::Advmss),
            (self.reordering, RouteMetric::Reordering),
            (self.hoplimit, RouteMetric::Hoplimit),
            (self.initcwnd, RouteMetric::InitCwnd),
            (self.initrwnd, RouteMetric::InitRwnd),
            (self.quickack, RouteMetric::QuickAck),
            (self.fastopen_no_cookie, RouteMetric::FastopenNoCookie),
        ];
        for (v, make) in numbered {
            if let Some(v) = v {
                out.push(make(v));
            }
        }
        if !out.is_empty() && self.lock != 0 {
            out.push(RouteMetric::Lock(self.lock));
        }
        out
    }
}

fn set(slot: &mut Option<u32>, v: Option<u32>) -> bool {
    *slot = v;
    v.is_some()
}

/// keepalived 2.2.7's `get_time_rtt`: a bare number is in kernel units
/// (`mult` per ms), `Nms`/`N[.f]s` (also `sec`, `secs`, any case) is
/// converted; the number may not exceed 120 s in kernel units, and the
/// result is silently clamped to 200 ms..120 s.
fn time(word: &str, mult: u64, what: &str, notes: &mut Vec<String>) -> Option<u32> {
    let max = RTT_MAX_MS * mult;
    let v = time_value(word.trim_start(), mult, max, notes);
    match v {
        Some(v) => u32::try_from(v.clamp(RTT_MIN_MS * mult, max)).ok(),
        None => {
            notes.push(what.replace("%s", word));
            None
        }
    }
}

/// The time in kernel units, before clamping.
fn time_value(s: &str, mult: u64, max: u64, notes: &mut Vec<String>) -> Option<u64> {
    let (num, shift, raw) = match s.find(['s', 'S']) {
        None => (s, 0, true),
        Some(at) => {
            if !["s", "sec", "secs"].contains(&s[at..].to_ascii_lowercase().as_str()) {
                return None;
            }
            match s[..at].strip_suffix(['m', 'M']) {
                Some(n) => (n, 0, false),
                None => (&s[..at], 3, false),
            }
        }
    };
    // The exponent form is refused without a word of its own.
    if num.is_empty() || num.contains(['e', 'E']) {
        return None;
    }
    let v = decimal(num, shift, max, notes)?;
    Some(if raw { v } else { v.saturating_mul(mult) })
}

/// keepalived's `read_decimal_unsigned`: `[+]digits[.digits]` scaled by
/// `10^shift`, extra decimals rounded (with a warning), at most `max`.
fn decimal(num: &str, shift: u32, max: u64, notes: &mut Vec<String>) -> Option<u64> {
    if num.starts_with('-') {
        notes.push(format!("negative number '{num}'"));
        return None;
    }
    let body = num.strip_prefix('+').unwrap_or(num);
    let (whole, frac) = body.split_once('.').unwrap_or((body, ""));
    let digits = |d: &str| d.bytes().all(|b| b.is_ascii_digit());
    if whole.is_empty() && frac.is_empty() || !digits(whole) || !digits(frac) {
        notes.push(format!("invalid number '{num}'"));
        return None;
    }
    let scale = 10u64.pow(shift);
    let kept = frac.len().min(shift as usize);
    let mut v: u64 = 0;
    for b in whole.bytes().chain(frac.bytes().take(kept)) {
        v = v.saturating_mul(10).saturating_add(u64::from(b - b'0'));
    }
    v = v.saturating_mul(10u64.pow(shift - kept as u32));
    if frac.len() > kept {
        notes.push(format!("number '{num}' has too many decimal places"));
        if frac.as_bytes()[kept] >= b'5' {
            v = v.saturating_add(1);
        }
    }
    if v > max {
        let show = |n: u64| format!("{}.{:0w$}", n / scale, n % scale, w = shift as usize);
        let show = |n: u64| if shift == 0 { format!("{n}.") } else { show(n) };
        notes.push(format!(
            "number '{num}' outside range [{}, {}]",
            show(0),
            show(max)
        ));
        return None;
    }
    Some(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(line: &str) -> (RouteMetrics, Vec<String>, bool) {
        let words: Vec<String> = line.split_whitespace().map(String::from).collect();
        let mut m = RouteMetrics::default();
        let mut w = Words::new(&words);
        let mut i = 0;
        let mut ok = true;
        while i < words.len() {
            match m.read(&mut w, i) {
                Step::Read(j) => i = j + 1,
                Step::Invalid => {
                    ok = false;
                    break;
                }
                Step::NotMine => i += 1,
            }
        }
        (m, w.notes, ok)
    }

    #[test]
    fn times_are_clamped_and_scaled_like_keepalived() {
        // Observed from keepalived 2.2.7 over strace.
        let (m, _, ok) = read("rtt 100 rttvar 50 rto_min 200");
        assert!(ok);
        assert_eq!(
            (m.rtt, m.rttvar, m.rto_min),
            (Some(1600), Some(800), Some(200))
        );
        let (m, _, _) = read("rtt 100ms rttvar 1s rto_min 2s");
        assert_eq!(
            (m.rtt, m.rttvar, m.rto_min),
            (Some(1600), Some(4000), Some(2000))
        );
        let (m, _, _) = read("rtt 2000 rttvar 1000 rto_min 300");
        assert_eq!(
            (m.rtt, m.rttvar, m.rto_min),
            (Some(2000), Some(1000), Some(300))
        );
        let (m, _, _) = read("rtt 300ms rttvar 1.5s rto_min 1.5s");
        assert_eq!(
            (m.rtt, m.rttvar, m.rto_min),
            (Some(2400), Some(6000), Some(1500))
        );
    }

    #[test]
    fn lock_bits_and_order() {
        let (m, _, ok) = read(
            "rtt lock 2000 cwnd lock 3 ssthresh lock 4 advmss lock 5 reordering lock 6 congctl lock reno",
        );
        assert!(ok);
        assert_eq!(m.lock, 66512);
        let kinds: Vec<u16> = m
            .attributes()
            .iter()
            .map(netlink_packet_core::Nla::kind)
            .collect();
        // CC_ALGO, RTT, SSTHRESH, CWND, ADVMSS, REORDERING, LOCK.
        assert_eq!(kinds, vec![16, 4, 6, 7, 8, 9, 1]);
    }

    #[test]
    fn bad_values_are_reported() {
        let (_, notes, ok) = read("mtu 0x10");
        assert!(!ok);
        assert_eq!(
            notes,
            vec![
                "invalid number '0x10'",
                "Invalid MTU 0x10 specified for route"
            ]
        );
        let (_, notes, ok) = read("hoplimit 256");
        assert!(!ok);
        assert_eq!(notes[1], "Invalid hoplimit 256 specified for route");
        let (_, notes, ok) = read("quickack 2");
        assert!(!ok);
        assert_eq!(notes[0], "number '2' outside range [0, 1]");
        let (m, notes, ok) = read("features foo");
        assert!(ok && m.is_empty());
        assert_eq!(notes, vec!["feature foo not supported"]);
        let (_, notes, ok) = read("rttvar lock 0x400");
        assert!(!ok);
        assert_eq!(
            notes,
            vec!["invalid number '0x400'", "Invalid rttvar 0x400 for route"]
        );
    }
}
