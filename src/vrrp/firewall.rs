//! `no_accept` (the default of `vrrp_strict` below priority 255): a MASTER
//! that does not own its addresses must not accept traffic for them. As
//! keepalived 2.2.7 does with nftables, the VIPs of such MASTERs go in a
//! set of table `ip keepalived` / `ip6 keepalived` whose `in` and `out`
//! chains (hooked at priority filter - 1) drop packets to and from them;
//! the table exists only while the set is non-empty (observed with
//! `nft list ruleset` beside keepalived). The ruleset is applied with the
//! `nft` program, in one transaction.

use std::io::Write;
use std::net::IpAddr;
use std::process::{Command, Stdio};

/// The nft script that makes the tables match `vips` (both families).
pub fn script(vips: &[IpAddr]) -> String {
    let mut out = String::new();
    for (family, v6, kind, word) in [
        ("ip", false, "ipv4_addr", "ip"),
        ("ip6", true, "ipv6_addr", "ip6"),
    ] {
        let mine: Vec<String> = vips
            .iter()
            .filter(|a| a.is_ipv6() == v6)
            .map(IpAddr::to_string)
            .collect();
        // Create-then-delete removes the table whether or not it exists.
        out.push_str(&format!("add table {family} keepalived\n"));
        out.push_str(&format!("delete table {family} keepalived\n"));
        if mine.is_empty() {
            continue;
        }
        out.push_str(&format!(
            "table {family} keepalived {{\n\
             \tset vips {{\n\t\ttype {kind}\n\t\telements = {{ {} }}\n\t}}\n\
             \tchain out {{\n\t\ttype filter hook output priority filter - 1; policy accept;\n\t\t{word} saddr @vips drop\n\t}}\n\
             \tchain in {{\n\t\ttype filter hook input priority filter - 1; policy accept;\n\t\t{word} daddr @vips drop\n\t}}\n\
             }}\n",
            mine.join(", ")
        ));
    }
    out
}

/// Applies `script(vips)` with `nft -f -`; the error text when it fails.
pub fn apply(vips: &[IpAddr]) -> Result<(), String> {
    let mut child = Command::new("nft")
        .args(["-f", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot run nft: {e}"))?;
    if let Some(mut stdin) = child.stdin.take() {
        stdin
            .write_all(script(vips).as_bytes())
            .map_err(|e| format!("nft: {e}"))?;
    }
    let out = child.wait_with_output().map_err(|e| format!("nft: {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "nft: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_ruleset_is_keepalived_s() {
        let vips: Vec<IpAddr> = vec![
            "198.51.100.100".parse().expect("ip"),
            "198.51.100.101".parse().expect("ip"),
        ];
        let s = script(&vips);
        assert!(s.contains("elements = { 198.51.100.100, 198.51.100.101 }"));
        assert!(s.contains(
            "type filter hook input priority filter - 1; policy accept;\n\t\tip daddr @vips drop"
        ));
        assert!(s.contains("ip saddr @vips drop"));
        assert!(
            !s.contains("table ip6 keepalived {"),
            "no IPv6 VIPs, no ip6 table"
        );
        assert!(
            script(&[])
                .lines()
                .all(|l| l.starts_with("add table") || l.starts_with("delete table"))
        );
    }
}
