//! VRRP (RFC 3768 / 5798) as keepalived implements it: the wire format
//! (`packet`), the sans-IO state machine (`fsm`) and tracking arithmetic
//! (`track`, `sync`), sockets (`net`), VIPs (`addr`), GARP (`garp`),
//! scripts and notifications, statistics and state dumps (`stats`), and
//! the daemon driver (`run`).

pub mod addr;
pub mod ah;
pub mod firewall;
pub mod fsm;
pub mod garp;
pub mod linkwatch;
pub mod net;
pub mod notify;
pub mod packet;
pub mod process;
pub mod route;
pub mod run;
pub mod script;
pub mod stats;
pub mod sync;
pub mod track;
pub mod vmac;
