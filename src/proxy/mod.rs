//! The haproxy side: the HTTP/1 message layer and the responses haproxy generates itself.
//! The proxy runtime (listeners, balancing, forwarding) builds on these.

pub mod errors;
mod http;
pub mod http1;
pub mod listener;
mod pool;
pub mod run;
