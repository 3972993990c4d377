//! Pharos: keepalived and haproxy in place. One binary that reads both
//! configuration languages into one model (`model`) through the readers in
//! `conf`, and answers the originals' command lines (`cli`).

pub mod check;
pub mod cli;
pub mod conf;
pub mod daemon;
pub mod model;
pub mod proxy;
pub mod vrrp;
