//! The bits of C formatting keepalived's dumps rely on: `%g`, `ctime()`
//! and the string escaping of its JSON writer. Rust's float formatting
//! rounds exact ties to even like glibc, so `{:.N}` already equals `%.Nf`.

use crate::daemon::{MONTHS, WEEKDAYS, civil_from_days};

use std::fmt::Write as _;

/// `printf("%g", v)`: 6 significant digits, trailing zeros removed, the
/// exponent form below 1e-4 and from 1e6 up.
pub fn g(v: f64) -> String {
    if v == 0.0 {
        return "0".into();
    }
    if !v.is_finite() {
        return if v.is_nan() {
            "nan".into()
        } else if v > 0.0 {
            "inf".into()
        } else {
            "-inf".into()
        };
    }
    // The exponent after rounding to 6 significant digits decides the form.
    let e = format!("{v:.5e}");
    let (mantissa, exp) = e.split_once('e').unwrap_or((e.as_str(), "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    if (-4..6).contains(&exp) {
        let decimals = usize::try_from(5 - exp).unwrap_or(0);
        strip_zeros(&format!("{v:.decimals$}")).to_string()
    } else {
        let sign = if exp < 0 { '-' } else { '+' };
        format!("{}e{sign}{:02}", strip_zeros(mantissa), exp.unsigned_abs())
    }
}

/// Drops trailing zeros of a fraction, and the point if nothing is left.
fn strip_zeros(s: &str) -> &str {
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.')
    } else {
        s
    }
}

/// Seconds as keepalived turns a `timeval` or a µs count into a double
/// (`sec + usec / 1e6`), so that `%f`/`%g` of it round the same way.
pub fn secs_f64(d: std::time::Duration) -> f64 {
    d.as_secs() as f64 + f64::from(d.subsec_micros()) / 1e6
}

/// A keepalived µs count (`TIMER_HZ` = 1 000 000) as a double.
pub fn micros_f64(us: u64) -> f64 {
    us as f64 / 1e6
}

/// keepalived's time of a `timeval` in the .data dump: the first 19
/// characters of `ctime()`, the microseconds, then the year, as in
/// `Tue Nov 24 20:12:39.487007 2026`. `utc_offset` is the local time zone's
/// offset east of UTC in seconds (ctime prints local time).
pub fn ctime_usec(t: std::time::Duration, utc_offset: i64) -> String {
    let secs = i64::try_from(t.as_secs()).unwrap_or(i64::MAX) + utc_offset;
    let days = secs.div_euclid(86_400);
    let tod = secs.rem_euclid(86_400);
    let (year, month, day) = civil_from_days(days);
    let wday = WEEKDAYS[usize::try_from(days.rem_euclid(7)).unwrap_or(0)];
    let mon = MONTHS[usize::try_from(month - 1).unwrap_or(0)];
    format!(
        "{wday} {mon} {day:>2} {:02}:{:02}:{:02}.{:06} {year}",
        tod / 3600,
        tod % 3600 / 60,
        tod % 60,
        t.subsec_micros()
    )
}

/// A JSON string the way keepalived's `jsonw_puts` writes it: `/` escaped,
/// the C escapes for `\t \n \r \f \b "`, other bytes as they are. Its
/// backslash case writes `\n` (a bug in 2.2.7's json_writer.c), kept so the
/// bytes stay the same.
pub fn json_string(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '\t' => out.push_str("\\t"),
            '\n' | '\\' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\u{c}' => out.push_str("\\f"),
            '\u{8}' => out.push_str("\\b"),
            '"' => out.push_str("\\\""),
            '/' => out.push_str("\\/"),
            c => out.push(c),
        }
    }
    out.push('"');
}

/// keepalived's `cmd_str()` of a script: every word in single quotes,
/// separated by spaces (`'/usr/bin/echo' 'hello' 'world'`).
pub fn cmd_str(argv: &[String]) -> String {
    let mut out = String::new();
    for (i, word) in argv.iter().enumerate() {
        if i > 0 {
            out.push(' ');
        }
        let _ = write!(out, "'{word}'");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn g_matches_glibc() {
        // Expected values printed by glibc's printf("%g").
        let cases = [
            (0.0, "0"),
            (1.0, "1"),
            (0.5, "0.5"),
            (1.5, "1.5"),
            (0.25, "0.25"),
            (0.01, "0.01"),
            (5.0, "5"),
            (123_456.0, "123456"),
            (1_234_567.0, "1.23457e+06"),
            (1_000_000.0, "1e+06"),
            (0.0001, "0.0001"),
            (0.00001, "1e-05"),
            (0.000_123_456_7, "0.000123457"),
            (2.000_001, "2"),
            (999_999.5, "1e+06"),
            (-1.5, "-1.5"),
        ];
        for (v, want) in cases {
            assert_eq!(g(v), want, "%g of {v}");
        }
    }

    #[test]
    fn ctime_is_local_time_with_microseconds() {
        let t = Duration::new(1_795_551_159, 487_007_000);
        assert_eq!(ctime_usec(t, 0), "Tue Nov 24 20:12:39.487007 2026");
        // One hour east of UTC; ctime pads the day with a space.
        let t = Duration::new(0, 5_000);
        assert_eq!(ctime_usec(t, 3600), "Thu Jan  1 01:00:00.000005 1970");
        // A leap day, west of UTC.
        let t = Duration::new(951_782_400, 0); // 2000-02-29 00:00:00 UTC
        assert_eq!(ctime_usec(t, -3600), "Mon Feb 28 23:00:00.000000 2000");
    }

    #[test]
    fn json_escapes_like_keepalived() {
        let mut s = String::new();
        json_string(&mut s, "a/b\"c\\d\te");
        assert_eq!(s, r#""a\/b\"c\nd\te""#);
    }

    #[test]
    fn cmd_str_quotes_each_word() {
        let argv = ["/usr/bin/echo", "hello", "world"].map(String::from);
        assert_eq!(cmd_str(&argv), "'/usr/bin/echo' 'hello' 'world'");
    }
}
