//! The haproxy side: the HTTP/1 message layer and the responses haproxy generates itself.
//! The proxy runtime (listeners, balancing, forwarding) builds on these.

pub mod balance;
pub mod errors;
pub mod http1;
