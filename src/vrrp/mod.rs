//! VRRP (RFC 3768 / 5798) as keepalived implements it. So far: the wire
//! format (`packet`). The state machine, sockets and VIP handling arrive
//! with the VRRP issue.

pub mod fsm;
pub mod packet;
