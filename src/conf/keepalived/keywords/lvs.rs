//! LVS blocks: `virtual_server`, `real_server` and the root `SSL` context
//! (reference/keepalived.md §1.16). The checker blocks are in `checkers`.

use super::checkers;
use super::{I32, U32, U32_US};
use crate::conf::keepalived::ErrClass;
use crate::conf::keepalived::table::{Check, CheckCtx, Keyword, Value, block, line};

pub(super) static SSL: &[Keyword] = &[
    line("password", Check::Word),
    line("ca", Check::Word),
    line("certificate", Check::Word),
    line("key", Check::Word),
];

/// IPVS schedulers keepalived accepts.
const SCHEDULERS: &[&str] = &[
    "rr", "wrr", "lc", "wlc", "lblc", "sh", "mh", "dh", "fo", "ovf", "lblcr", "sed", "nq", "twos",
];

/// `lvs_sched` / `lb_algo`, with keepalived's own message.
fn scheduler(args: &[String], ctx: &mut CheckCtx<'_>) -> Value {
    let Some(word) = args.first() else {
        return Value::Invalid;
    };
    if SCHEDULERS.contains(&word.as_str()) {
        Value::Word(word.clone())
    } else {
        ctx.report(
            ErrClass::GeneralError,
            format!("Invalid lvs_scheduler '{word}' - ignoring"),
        );
        Value::Invalid
    }
}

/// Keywords `virtual_server` and `real_server` share (defaults flow VS → RS
/// → checker).
const DELAY_LOOP: Check = Check::Secs {
    min: 1,
    max: U32_US,
};
const CONNECT_TIMEOUT: Check = Check::Secs {
    min: 1,
    max: U32_US,
};
const RETRY: Check = Check::Int { min: 1, max: U32 };
const DELAY: Check = Check::Secs {
    min: 0,
    max: U32_US,
};

static REAL_SERVER: &[Keyword] = &[
    line("weight", Check::Int { min: 0, max: I32 }),
    line("lvs_method", Check::Words1),
    line("uthreshold", Check::Int { min: 0, max: U32 }),
    line("lthreshold", Check::Int { min: 0, max: U32 }),
    line("inhibit_on_failure", Check::OptBool),
    line("notify_up", Check::Script),
    line("notify_down", Check::Script),
    line("alpha", Check::OptBool),
    line("retry", RETRY),
    line("delay_before_retry", DELAY),
    line("warmup", DELAY),
    line("connect_timeout", CONNECT_TIMEOUT),
    line("delay_loop", DELAY_LOOP),
    line("smtp_alert", Check::OptBool),
    line("virtualhost", Check::Word),
    line("snmp_name", Check::Word),
    checkers::TCP,
    checkers::HTTP,
    checkers::SSL,
    checkers::SMTP,
    checkers::DNS,
    checkers::MISC,
    checkers::UDP,
    checkers::PING,
    checkers::FILE,
    checkers::BFD,
];

pub(super) static VIRTUAL_SERVER: &[Keyword] = &[
    line("ip_family", Check::OneOf(&["inet", "inet6"])),
    line("retry", RETRY),
    line("delay_before_retry", DELAY),
    line("warmup", DELAY),
    line("connect_timeout", CONNECT_TIMEOUT),
    line("delay_loop", DELAY_LOOP),
    line("inhibit_on_failure", Check::OptBool),
    line("lb_algo", Check::Custom1(scheduler)).alias_of("lvs_sched"),
    line("lvs_sched", Check::Custom1(scheduler)),
    line("hashed", Check::None),
    line("flag-1", Check::None),
    line("flag-2", Check::None),
    line("flag-3", Check::None),
    line("sh-port", Check::None),
    line("sh-fallback", Check::None),
    line("mh-port", Check::None),
    line("mh-fallback", Check::None),
    line("ops", Check::None),
    line("lb_kind", Check::Words1).alias_of("lvs_method"),
    line("lvs_method", Check::Words1),
    line("persistence_engine", Check::Word),
    line(
        "persistence_timeout",
        Check::OptInt {
            min: 1,
            max: 2_678_400,
            default: 360,
        },
    ),
    line("persistence_granularity", Check::Word),
    line("protocol", Check::Word),
    line("ha_suspend", Check::None),
    line("smtp_alert", Check::OptBool),
    line("virtualhost", Check::Word),
    line("sorry_server", Check::Words1),
    line("sorry_server_inhibit", Check::OptBool),
    line("sorry_server_lvs_method", Check::Words1),
    block("real_server", Check::Words1, REAL_SERVER),
    line("alpha", Check::OptBool),
    line("omega", Check::OptBool),
    line("quorum_up", Check::Script),
    line("quorum_down", Check::Script),
    line("quorum", Check::Int { min: 1, max: U32 }),
    line("hysteresis", Check::Int { min: 0, max: U32 }),
    line("weight", Check::Int { min: 1, max: I32 }),
    line("snmp_name", Check::Word),
];
