//! LVS blocks: `virtual_server`, `real_server`, the checkers and `SSL`
//! (reference/keepalived.md §1.16).

use crate::conf::keepalived::table::{Check, Keyword, block, line};

const SECS_MAX: u64 = u32::MAX as u64 * 1_000_000;

pub(super) static SSL: &[Keyword] = &[
    line("password", Check::Word),
    line("ca", Check::Word),
    line("certificate", Check::Word),
    line("key", Check::Word),
];

static URL: &[Keyword] = &[
    line("path", Check::Word),
    line("digest", Check::Word),
    line("status_code", Check::Words1),
    line("virtualhost", Check::Word),
];

static HTTP_GET: &[Keyword] = &[
    line("connect_ip", Check::Ip),
    line("connect_port", Check::Int { min: 1, max: 65535 }),
    line("connect_timeout", Check::Secs { min: 1, max: SECS_MAX }),
    line("retry", Check::Int { min: 0, max: i32::MAX as i64 }),
    line("delay_before_retry", Check::Secs { min: 0, max: SECS_MAX }),
    line("nb_get_retry", Check::Int { min: 0, max: i32::MAX as i64 }).alias_of("retry"),
    block("url", Check::None, URL),
];

static TCP_CHECK: &[Keyword] = &[
    line("connect_ip", Check::Ip),
    line("connect_port", Check::Int { min: 1, max: 65535 }),
    line("connect_timeout", Check::Secs { min: 1, max: SECS_MAX }),
    line("retry", Check::Int { min: 0, max: i32::MAX as i64 }),
    line("delay_before_retry", Check::Secs { min: 0, max: SECS_MAX }),
];

static MISC_CHECK: &[Keyword] = &[
    line("misc_path", Check::Script),
    line("misc_timeout", Check::Secs { min: 1, max: SECS_MAX }),
    line("misc_dynamic", Check::None),
];

static REAL_SERVER: &[Keyword] = &[
    line("weight", Check::Int { min: 0, max: 65535 }),
    line("inhibit_on_failure", Check::OptBool),
    line("notify_up", Check::Script),
    line("notify_down", Check::Script),
    block("TCP_CHECK", Check::None, TCP_CHECK),
    block("HTTP_GET", Check::None, HTTP_GET),
    block("SSL_GET", Check::None, HTTP_GET),
    block("MISC_CHECK", Check::None, MISC_CHECK),
];

pub(super) static VIRTUAL_SERVER: &[Keyword] = &[
    line("delay_loop", Check::Secs { min: 1, max: SECS_MAX }),
    line("lvs_sched", Check::Word),
    line("lb_algo", Check::Word).alias_of("lvs_sched"),
    line("lvs_method", Check::Words1),
    line("lb_kind", Check::Words1).alias_of("lvs_method"),
    line("persistence_timeout", Check::OptInt { min: 1, max: 2_678_400, default: 360 }),
    line("protocol", Check::Word),
    line("sorry_server", Check::Words1),
    block("real_server", Check::Words1, REAL_SERVER),
];
