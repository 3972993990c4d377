//! VRRP (RFC 3768 / 5798) as keepalived implements it: the wire format
//! (`packet`), the sans-IO state machine (`fsm`) and tracking arithmetic
//! (`track`). Sockets, VIPs, GARP and the daemon driver come next.

pub mod fsm;
pub mod packet;
pub mod track;
