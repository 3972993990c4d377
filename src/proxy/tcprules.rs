//! `tcp-request connection` and `tcp-request content` rules: `accept` and
//! `reject` under `if`/`unless` conditions, in order, the first that
//! applies deciding (accept when none does). Conditions see the
//! connection's addresses; fetches of the request's payload are not
//! served, so a content rule decides at once, as haproxy does without
//! `tcp-request inspect-delay`.

use super::acl;
use super::sample::{Addrs, Ctx};
use crate::model::haproxy::{Acl, Proxy, TcpAction, TcpRule};

/// A frontend's TCP rules with the ACLs they name.
#[derive(Debug, Default)]
pub struct TcpRules {
    connection: Vec<TcpRule>,
    content: Vec<TcpRule>,
    acls: Vec<Acl>,
}

impl TcpRules {
    /// The rules of frontend `p`.
    pub fn of(p: &Proxy) -> TcpRules {
        TcpRules {
            connection: p.tcp_request_connection.clone(),
            content: p.tcp_request_content.clone(),
            acls: p.acls.clone(),
        }
    }

    /// Whether there are `tcp-request connection` rules at all.
    pub fn on_connections(&self) -> bool {
        !self.connection.is_empty()
    }

    /// `tcp-request connection`: whether a new connection is kept.
    pub fn admits(&self, addrs: &Addrs) -> bool {
        decide(&self.connection, &self.acls, addrs)
    }

    /// `tcp-request content`: whether a stream goes on.
    pub fn passes(&self, addrs: &Addrs) -> bool {
        decide(&self.content, &self.acls, addrs)
    }
}

fn decide(rules: &[TcpRule], acls: &[Acl], addrs: &Addrs) -> bool {
    let ctx = Ctx::addressed(addrs);
    for rule in rules {
        let holds = rule
            .cond
            .as_ref()
            .is_none_or(|c| acl::eval_in(c, acls, &ctx));
        match &rule.action {
            TcpAction::Accept if holds => return true,
            TcpAction::Reject if holds => return false,
            _ => {}
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules(cfg: &str) -> TcpRules {
        let out = crate::conf::haproxy::read_str(cfg, &crate::conf::haproxy::Options::default());
        assert!(!out.is_fatal(), "{:?}", out.diagnostics);
        TcpRules::of(&out.config.proxies[0])
    }

    fn from(ip: &str) -> Addrs {
        Addrs {
            src: Some(format!("{ip}:1000").parse().expect("addr")),
            ..Addrs::default()
        }
    }

    #[test]
    fn the_first_rule_that_applies_decides() {
        let r = rules(
            "defaults\n  mode tcp\nfrontend f\n  bind :1\n  acl lan src 10.0.0.0/8\n  tcp-request connection accept if lan\n  tcp-request connection reject\n  tcp-request content reject if { src 10.9.0.0/16 }\n  default_backend b\nbackend b\n  server s 127.0.0.1:2\n",
        );
        assert!(r.admits(&from("10.1.2.3")));
        assert!(!r.admits(&from("192.0.2.1")));
        assert!(r.passes(&from("10.1.2.3")));
        assert!(!r.passes(&from("10.9.0.1")));
    }
}
