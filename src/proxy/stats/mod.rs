//! haproxy 2.6's statistics presentation: the CSV export (`;csv`, `show stat`), the HTML
//! page and `show info`, as pure functions over a [`Snapshot`] the runtime fills in.
//! Nothing here counts, reads a clock or touches a socket; the runtime owns the counters.
//! Golden output recorded from 2.6.12 lives in fixtures/haproxy/stats/.

mod csv;
mod html;
mod info;
mod snapshot;

pub use csv::{CsvOptions, HEADER, csv, show_stat};
pub use html::{PageOptions, html, human_time, num};
pub use info::{show_info, uptime};
pub use snapshot::*;

#[cfg(test)]
mod tests;
