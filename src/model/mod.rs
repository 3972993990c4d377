//! The shared model: what a configuration means once defaults are applied.
//! Plain typed data, no I/O. Both readers produce it; the runtimes consume it.
//! One type for one idea across both halves (addresses, durations, scripts,
//! health checks live in `common` and `check`).

pub mod check;
pub mod common;
pub mod haproxy;
pub mod keepalived;

pub use check::{HealthCheck, Probe};
pub use common::{Duration, Endpoint, Host, Prefix, Script};
