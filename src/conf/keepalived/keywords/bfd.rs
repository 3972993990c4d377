//! `bfd_instance NAME` (reference/keepalived.md §1.15): 15 keywords, read by
//! the BFD process (timers, addresses) and by VRRP/checker (weight, owners).

use crate::conf::keepalived::table::{Check, CheckCtx, Keyword, Value, line};
use crate::conf::keepalived::values;
use crate::model::common::Duration;

/// Milliseconds with up to three decimals, `[1, 4294967]` (`min_rx`, `min_tx`).
fn interval_ms(args: &[String], ctx: &mut CheckCtx<'_>) -> Value {
    ms(args, 1, ctx)
}

/// `idle_tx`: milliseconds, `[1000, 4294967]`.
fn idle_ms(args: &[String], ctx: &mut CheckCtx<'_>) -> Value {
    ms(args, 1000, ctx)
}

fn ms(args: &[String], min_ms: u64, ctx: &mut CheckCtx<'_>) -> Value {
    let Some(word) = args.first() else {
        return Value::Invalid;
    };
    // Read as "seconds" so that the three decimals of a millisecond value
    // land in whole µs, then scale back to milliseconds.
    match values::secs(word, min_ms * 1_000_000, 4_294_967 * 1_000_000, ctx) {
        Some(d) => Value::Secs(Duration::from_micros(d.as_micros() / 1000)),
        None => Value::Invalid,
    }
}

pub(super) static BFD_INSTANCE: &[Keyword] = &[
    line("source_ip", Check::Ip),
    line("neighbor_ip", Check::Ip),
    line("neighbour_ip", Check::Ip).alias_of("neighbor_ip"),
    line("min_rx", Check::Custom1(interval_ms)),
    line("min_tx", Check::Custom1(interval_ms)),
    line("idle_tx", Check::Custom1(idle_ms)),
    line("multiplier", Check::Int { min: 1, max: 255 }),
    line("passive", Check::None),
    line("ttl", Check::Int { min: 1, max: 255 }),
    line("hoplimit", Check::Int { min: 1, max: 255 }),
    line("max_hops", Check::Int { min: -1, max: 255 }),
    line("multihop", Check::OptBool),
    line("weight", Check::Words1),
    line("vrrp", Check::None),
    line("checker", Check::None),
];
