//! The CLI against a registry built from a configuration, without sockets.

use super::*;
use crate::proxy::statspage::Entry;

fn registry(cfg: &str) -> Registry {
    let out = crate::conf::haproxy::read_str(cfg, &crate::conf::haproxy::Options::default());
    assert!(!out.is_fatal(), "{:?}", out.diagnostics);
    let parsed = out.config;
    let limits = crate::proxy::statspage::SessionLimits::new(&parsed, None, 100);
    let entries = parsed
        .proxies
        .iter()
        .map(|p| Entry {
            name: p.name.clone(),
            kind: p.kind,
            mode: p.mode,
            frontend: None,
            pool: (p.kind != ProxyKind::Frontend).then(|| Arc::new(Pool::new(p, None))),
            limits: limits.of(p),
        })
        .collect();
    Registry {
        started: std::time::Instant::now(),
        entries,
    }
}

const CFG: &str = "defaults\n  mode http\nbackend be\n  server s1 127.0.0.1:8001 weight 3\n  server s2 127.0.0.1:8002\n";

#[test]
fn weights_and_their_messages() {
    let reg = registry(CFG);
    let mut s = Session::new(Level::Admin);
    assert_eq!(s.line(&reg, "get weight be/s1"), "3 (initial 3)\n\n");
    assert_eq!(s.line(&reg, "set weight be/s1 2"), "\n");
    assert_eq!(
        s.line(&reg, "set weight be/s1 50%; get weight be/s1"),
        "\n1 (initial 3)\n\n"
    );
    assert_eq!(
        s.line(&reg, "set weight be/s1 300"),
        "Absolute weight can only be between 0 and 256 inclusive.\n\n"
    );
    assert_eq!(s.line(&reg, "set weight be/nope 3"), "No such server.\n\n");
    assert_eq!(s.line(&reg, "set weight nope/s1 3"), "No such backend.\n\n");
    assert_eq!(
        s.line(&reg, "set weight be 3"),
        "Require 'backend/server'.\n\n"
    );
    assert_eq!(
        s.line(&reg, "set weight be/s1"),
        "Require <weight> or <weight%>.\n\n"
    );
    assert_eq!(
        s.line(&reg, "set weight be/s1 abc"),
        "Empty weight string empty or preceded by garbage\n"
    );
}

#[test]
fn levels_guard_changes() {
    let reg = registry(CFG);
    let mut s = Session::new(Level::Operator);
    assert_eq!(
        s.line(&reg, "disable server be/s1"),
        "Permission denied\n\n"
    );
    assert_eq!(s.line(&reg, "show cli level"), "operator\n\n");
    assert_eq!(s.line(&reg, "user; show cli level"), "\nuser\n\n");
    assert_eq!(s.line(&reg, "operator"), "Permission denied\n\n");
}

#[test]
fn maint_and_drain_show_in_state_and_stat() {
    let reg = registry(CFG);
    let mut s = Session::new(Level::Admin);
    assert_eq!(s.line(&reg, "disable server be/s1"), "\n");
    let state = s.line(&reg, "show servers state be");
    let row: Vec<&str> = state.lines().nth(2).expect("s1 row").split(' ').collect();
    assert_eq!(
        &row[..9],
        ["2", "be", "1", "s1", "127.0.0.1", "0", "1", "3", "3"]
    );
    assert!(
        s.line(&reg, "show stat")
            .contains("\nbe,s1,0,0,0,0,,0,0,0,,0,,0,0,0,0,MAINT,3,")
    );
    assert_eq!(s.line(&reg, "set server be/s1 state drain"), "\n");
    let stat = s.line(&reg, "show stat");
    assert!(stat.contains(",DRAIN,3,"), "{stat}");
    // s2 alone is balanced: the backend's weight and act are s2's.
    assert!(stat.contains("\nbe,BACKEND,0,0,0,0,"), "{stat}");
    assert!(
        stat.lines()
            .any(|l| l.starts_with("be,BACKEND,") && l.contains(",UP,1,1,0,")),
        "{stat}"
    );
    assert_eq!(
        s.line(&reg, "set server be/s1 state foo"),
        "'set server <srv> state' expects 'ready', 'drain' and 'maint'.\n\n"
    );
    assert_eq!(
        s.line(&reg, "show servers state nope"),
        "Can't find backend.\n\n"
    );
}

#[test]
fn prompt_and_quit() {
    let reg = registry(CFG);
    let mut s = Session::new(Level::Admin);
    assert_eq!(s.line(&reg, "prompt"), "\n> ");
    assert_eq!(s.line(&reg, "get weight be/s2"), "1 (initial 1)\n\n> ");
    assert_eq!(s.line(&reg, "prompt"), "\n");
    assert_eq!(s.line(&reg, "quit"), "");
    assert!(s.closed);
}

#[test]
fn admin_form_codes_and_effect() {
    use crate::proxy::statspage::post;
    let reg = registry(CFG);
    // `be` is the first proxy: iid 2.
    assert_eq!(post(&reg, b"s=s1&action=maint&b=%232"), "DONE");
    let mut s = Session::new(Level::Admin);
    assert!(
        s.line(&reg, "show stat")
            .contains("\nbe,s1,0,0,0,0,,0,0,0,,0,,0,0,0,0,MAINT,")
    );
    assert_eq!(post(&reg, b"s=s1&s=zz&action=ready&b=be"), "PART");
    assert_eq!(post(&reg, b"s=zz&action=ready&b=be"), "ERRP");
    assert_eq!(post(&reg, b"s=s1&action=bogus&b=be"), "ERRP");
    assert_eq!(post(&reg, b"s=s1&action=ready&b=%239"), "ERRP");
    assert_eq!(post(&reg, b"s=s1&b=be"), "NONE");
    assert_eq!(post(&reg, b"s=s1&action=dhlth&b=be"), "NONE");
    assert_eq!(post(&reg, b"action=drain&s=s%31&b=be"), "DONE");
    assert!(s.line(&reg, "show stat").contains(",DRAIN,"));
}
