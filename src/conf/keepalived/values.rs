//! Value parsers with keepalived's messages: integers (`strtol`-like, base
//! 10), decimal seconds (≤ 6 fractional digits), booleans, addresses.

use super::ErrClass;
use super::table::CheckCtx;
use crate::model::common::Duration;
use nom::Parser;
use nom::character::complete::{char, digit1};
use nom::combinator::{all_consuming, opt, recognize};
use std::net::IpAddr;

/// `[+-]digits`, the whole word.
fn integer(word: &str) -> Option<i64> {
    let parsed: nom::IResult<&str, &str> = all_consuming(recognize((
        opt(nom::branch::alt((char('+'), char('-')))),
        digit1,
    )))
    .parse(word);
    let (_, text) = parsed.ok()?;
    text.trim_start_matches('+').parse::<i64>().ok()
}

/// Reads an integer in `[min, max]`, reporting like keepalived's `read_int`.
pub fn int(word: &str, min: i64, max: i64, ctx: &mut CheckCtx<'_>) -> Option<i64> {
    match integer(word) {
        None => {
            ctx.report(ErrClass::InvalidNumber, format!("invalid number '{word}'"));
            None
        }
        Some(n) if n < 0 && min >= 0 && max > i64::from(i32::MAX) => {
            ctx.report(ErrClass::InvalidNumber, format!("negative number '{word}'"));
            None
        }
        Some(n) if n < min || n > max => {
            ctx.report(
                ErrClass::InvalidNumber,
                format!("number '{word}' outside range [{min}, {max}]"),
            );
            None
        }
        Some(n) => Some(n),
    }
}

/// Splits `int.frac` into micro-units; `None` when it is not a decimal.
/// Returns (value in µs, true if digits beyond the sixth were dropped).
fn decimal_micros(word: &str) -> Option<(u64, bool)> {
    /// `[+]digits[.digits]` split into its parts.
    type Decimal<'a> = (Option<char>, &'a str, Option<(char, &'a str)>);
    let parsed: nom::IResult<&str, Decimal<'_>> =
        all_consuming((opt(char('+')), digit1, opt((char('.'), digit1)))).parse(word);
    let (_, (_, int_part, frac)) = parsed.ok()?;
    let whole: u64 = int_part.parse().ok()?;
    let mut micros = whole.checked_mul(1_000_000)?;
    let mut truncated = false;
    if let Some((_, digits)) = frac {
        let mut scale = 100_000u64;
        for (i, d) in digits.bytes().enumerate() {
            let d = u64::from(d - b'0');
            if i < 6 {
                micros = micros.checked_add(d * scale)?;
                scale /= 10;
            } else {
                // keepalived rounds at the sixth digit.
                if i == 6 && d >= 5 {
                    micros = micros.checked_add(1)?;
                }
                truncated = true;
            }
        }
    }
    Some((micros, truncated))
}

fn fmt_decimal(micros: u64) -> String {
    format!("{}.{:06}", micros / 1_000_000, micros % 1_000_000)
}

/// Reads decimal seconds in `[min, max]` µs, like `read_decimal_unsigned`.
pub fn secs(word: &str, min: u64, max: u64, ctx: &mut CheckCtx<'_>) -> Option<Duration> {
    if word.starts_with('-') && decimal_micros(&word[1..]).is_some() {
        ctx.report(ErrClass::InvalidNumber, format!("negative number '{word}'"));
        return None;
    }
    let Some((micros, truncated)) = decimal_micros(word) else {
        ctx.report(ErrClass::InvalidNumber, format!("invalid number '{word}'"));
        return None;
    };
    if truncated {
        ctx.report(
            ErrClass::InvalidNumber,
            format!("number '{word}' has too many decimal places"),
        );
    }
    if micros < min || micros > max {
        ctx.report(
            ErrClass::InvalidNumber,
            format!(
                "number '{word}' outside range [{}, {}]",
                fmt_decimal(min),
                fmt_decimal(max)
            ),
        );
        return None;
    }
    Some(Duration::from_micros(micros))
}

/// `on|off|true|false|yes|no` (lower case only), like `check_true_false`.
pub fn boolean(word: &str) -> Option<bool> {
    match word {
        "on" | "true" | "yes" => Some(true),
        "off" | "false" | "no" => Some(false),
        _ => None,
    }
}

/// An address as `inet_pton` reads it (no prefix).
pub fn ip(word: &str) -> Option<IpAddr> {
    word.parse().ok()
}

/// An address with an optional `/prefix`.
pub fn prefix(word: &str) -> Option<crate::model::Prefix> {
    let (addr, len) = match word.split_once('/') {
        Some((a, l)) => (a, Some(l)),
        None => (word, None),
    };
    let addr: IpAddr = addr.parse().ok()?;
    let max = if addr.is_ipv4() { 32 } else { 128 };
    let len = match len {
        Some(l) => {
            let n: u8 = l.parse().ok()?;
            if n > max {
                return None;
            }
            n
        }
        None => max,
    };
    Some(crate::model::Prefix { addr, len })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::conf::{FileId, Span};

    fn ctx_run<T>(f: impl FnOnce(&mut CheckCtx<'_>) -> T) -> (T, Vec<String>) {
        let mut diags = Vec::new();
        let mut ctx = CheckCtx {
            diags: &mut diags,
            at: Span {
                file: FileId(0),
                line: 1,
            },
            raw: "",
            owner: "",
        };
        let out = f(&mut ctx);
        (out, diags.into_iter().map(|d| d.message).collect())
    }

    #[test]
    fn integers_like_strtol_base10() {
        assert_eq!(ctx_run(|c| int("+12", 1, 255, c)).0, Some(12));
        let (v, m) = ctx_run(|c| int("0x10", 1, 255, c));
        assert_eq!(v, None);
        assert_eq!(m, vec!["invalid number '0x10'"]);
        let (v, m) = ctx_run(|c| int("300", 1, 255, c));
        assert_eq!(v, None);
        assert_eq!(m, vec!["number '300' outside range [1, 255]"]);
    }

    #[test]
    fn decimals_with_six_digits() {
        let (v, m) = ctx_run(|c| secs("0.001", 10_000, 255_000_000, c));
        assert_eq!(v, None);
        assert_eq!(
            m,
            vec!["number '0.001' outside range [0.010000, 255.000000]"]
        );
        let (v, m) = ctx_run(|c| secs("1.5555555", 10_000, 255_000_000, c));
        assert_eq!(v, Some(Duration::from_micros(1_555_556)));
        assert_eq!(m, vec!["number '1.5555555' has too many decimal places"]);
        assert_eq!(
            ctx_run(|c| secs("-1", 0, 10, c)).1,
            vec!["negative number '-1'"]
        );
    }

    #[test]
    fn prefixes_default_to_host() {
        assert_eq!(prefix("10.0.0.1").map(|p| p.len), Some(32));
        assert_eq!(prefix("2001:db8::1/64").map(|p| p.len), Some(64));
        assert_eq!(prefix("10.0.0.1/33"), None);
    }
}
