//! VRRP (RFC 3768 / 5798) as keepalived implements it: the wire format
//! (`packet`), the sans-IO state machine (`fsm`) and tracking arithmetic
//! (`track`). Sockets, VIPs, GARP and the daemon driver come next.

pub mod addr;
pub mod fsm;
pub mod garp;
pub mod net;
pub mod packet;
pub mod run;
pub mod script;
pub mod stats;
pub mod track;
