//! The haproxy side: the HTTP/1 message layer, the responses haproxy
//! generates itself, listeners, server pools, log lines, and the runtime
//! (`run`) that serves the proxies of the model.

mod accept;
pub mod acl;
pub mod balance;
pub mod cli;
pub mod cookie;
pub mod counters;
pub mod drain;
pub mod errors;
mod http;
pub mod http1;
pub mod listener;
pub mod log;
mod logging;
mod maps;
mod pool;
mod rewrite;
pub mod rules;
pub mod run;
pub mod sample;
pub mod stats;
mod statspage;
mod tcp;
mod tcprules;
mod trace;
mod tunnel;
