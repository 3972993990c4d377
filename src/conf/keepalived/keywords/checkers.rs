//! The ten health-checker blocks of `real_server` (reference/keepalived.md
//! §1.16): the connection and timing keyword sets every checker shares
//! (`install_checker_common_keywords`), then each checker's own keywords.

use super::{U32, U32_US};
use crate::conf::keepalived::ErrClass;
use crate::conf::keepalived::table::{Check, Keyword, block, line};

/// A checker table: the shared connection set and/or the shared timing set,
/// then the checker's own keywords, in keepalived's registration order.
macro_rules! checker {
    (connection, timing, $($own:expr),* $(,)?) => {
        &[
            line("connect_ip", Check::Ip),
            line("connect_port", Check::Int { min: 0, max: 65535 }),
            line("bindto", Check::Ip),
            line("bind_port", Check::Int { min: 0, max: 65535 }),
            line("bind_if", Check::Word),
            line("connect_timeout", Check::Secs { min: 1, max: U32_US }),
            line("fwmark", Check::Int { min: 0, max: U32 }),
            line("retry", Check::Int { min: 0, max: U32 }),
            line("delay_before_retry", Check::Secs { min: 0, max: U32_US }),
            line("warmup", Check::Secs { min: 0, max: U32_US }),
            line("delay_loop", Check::Secs { min: 1, max: U32_US }),
            line("alpha", Check::OptBool),
            line("log_all_failures", Check::OptBool),
            $($own),*
        ]
    };
    (timing, $($own:expr),* $(,)?) => {
        &[
            line("retry", Check::Int { min: 0, max: U32 }),
            line("delay_before_retry", Check::Secs { min: 0, max: U32_US }),
            line("warmup", Check::Secs { min: 0, max: U32_US }),
            line("delay_loop", Check::Secs { min: 1, max: U32_US }),
            line("alpha", Check::OptBool),
            line("log_all_failures", Check::OptBool),
            $($own),*
        ]
    };
}

static TCP_CHECK: &[Keyword] = checker!(connection, timing,);

static PING_CHECK: &[Keyword] = checker!(connection, timing,);

static UDP_CHECK: &[Keyword] = checker!(
    connection,
    timing,
    line("payload", Check::Word),
    line("require_reply", Check::OptWord),
    line("min_reply_length", Check::Int { min: 0, max: 65535 }),
    line("max_reply_length", Check::Int { min: 0, max: 65535 }),
);

static DNS_CHECK: &[Keyword] = checker!(
    connection,
    timing,
    line(
        "type",
        Check::OneOf(&[
            "A", "NS", "CNAME", "SOA", "MX", "TXT", "AAAA", "RRSIG", "DNSKEY"
        ])
    ),
    line("name", Check::Word),
);

/// The deprecated `host { }` sub-block: the 13 common keywords.
static SMTP_HOST: &[Keyword] = checker!(connection, timing,);

static SMTP_CHECK: &[Keyword] = checker!(
    connection,
    timing,
    line("helo_name", Check::Word),
    block("host", Check::None, SMTP_HOST).deprecated(
        "The SMTP_CHECK host block is deprecated. Please define additional checkers.",
        ErrClass::Info
    ),
);

static MISC_CHECK: &[Keyword] = checker!(
    timing,
    line("misc_path", Check::Script),
    line(
        "misc_timeout",
        Check::Secs {
            min: 1,
            max: U32_US
        }
    ),
    line("misc_dynamic", Check::None),
    line("user", Check::Words1),
);

/// The keywords of a `url { }` block, plus any of the checker's own.
macro_rules! url {
    ($($own:expr),* $(,)?) => {
        &[
            line("path", Check::Word),
            line("digest", Check::Word),
            line("status_code", Check::Words1),
            line("virtualhost", Check::Word),
            line("regex", Check::Word),
            line("regex_no_match", Check::None),
            line("regex_options", Check::Words1),
            line("regex_min_offset", Check::Int { min: 0, max: U32 }),
            line("regex_max_offset", Check::Int { min: 0, max: U32 }),
            line("regex_stack", Check::Int { min: 0, max: U32 }),
            $($own),*
        ]
    };
}

/// One `url { }` of HTTP_GET.
static HTTP_URL: &[Keyword] = url!();

/// One `url { }` of SSL_GET: HTTP_GET's plus `tls_compliant`.
static SSL_URL: &[Keyword] = url!(line("tls_compliant", Check::OptBool));

const HTTP_PROTOCOLS: Check = Check::OneOf(&["1.0", "1.1", "1.0C", "1.0c"]);

/// Keywords HTTP_GET and SSL_GET share (after the common checker ones).
const NB_GET_RETRY: Keyword = line("nb_get_retry", Check::Int { min: 0, max: U32 })
    .alias_of("retry")
    .deprecated(
        "nb_get_retry is deprecated - please use 'retry'",
        ErrClass::Deprecated,
    );
const VIRTUALHOST: Keyword = line("virtualhost", Check::Word);
const HTTP_PROTOCOL: Keyword = line("http_protocol", HTTP_PROTOCOLS);
const ENABLE_SNI: Keyword = line("enable_sni", Check::OptBool);
const SNI_NAME: Keyword = line("sni_name", Check::Word);
const FAST_RECOVERY: Keyword = line("fast_recovery", Check::OptBool);

static HTTP_GET: &[Keyword] = checker!(
    connection,
    timing,
    NB_GET_RETRY,
    VIRTUALHOST,
    HTTP_PROTOCOL,
    ENABLE_SNI,
    SNI_NAME,
    FAST_RECOVERY,
    block("url", Check::None, HTTP_URL),
);

static SSL_GET: &[Keyword] = checker!(
    connection,
    timing,
    NB_GET_RETRY,
    VIRTUALHOST,
    HTTP_PROTOCOL,
    ENABLE_SNI,
    SNI_NAME,
    FAST_RECOVERY,
    line("tls_compliant", Check::OptBool),
    block("url", Check::None, SSL_URL),
);

static FILE_CHECK: &[Keyword] = &[
    line("track_file", Check::Word),
    line("weight", Check::Words1),
];

static BFD_CHECK: &[Keyword] = &[line("name", Check::Word), line("alpha", Check::OptBool)];

/// The checker blocks, as `real_server` installs them.
pub(super) const TCP: Keyword = block("TCP_CHECK", Check::None, TCP_CHECK);
pub(super) const HTTP: Keyword = block("HTTP_GET", Check::None, HTTP_GET);
pub(super) const SSL: Keyword = block("SSL_GET", Check::None, SSL_GET);
pub(super) const SMTP: Keyword = block("SMTP_CHECK", Check::None, SMTP_CHECK);
pub(super) const DNS: Keyword = block("DNS_CHECK", Check::None, DNS_CHECK);
pub(super) const MISC: Keyword = block("MISC_CHECK", Check::None, MISC_CHECK);
pub(super) const UDP: Keyword = block("UDP_CHECK", Check::None, UDP_CHECK);
pub(super) const PING: Keyword = block("PING_CHECK", Check::None, PING_CHECK);
pub(super) const FILE: Keyword = block("FILE_CHECK", Check::None, FILE_CHECK);
pub(super) const BFD: Keyword = block("BFD_CHECK", Check::None, BFD_CHECK);
