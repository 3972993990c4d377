//! The network namespace `keepalived -t` runs in: veth interfaces eth0..eth3, up, with
//! addresses from 198.51.100.0/24, 203.0.113.0/24 and 2001:db8::/32. Created once per test
//! run and deleted by the guard's `Drop`, also when the test fails or panics.

use std::process::Command;

/// IPv4 address of each `ethN` (the peers `ethNp` stay address-less).
const V4: [&str; 4] = [
    "198.51.100.1/25",
    "198.51.100.129/25",
    "203.0.113.1/25",
    "203.0.113.129/25",
];

/// A namespace this test created; deleted on drop.
pub struct NetNs {
    name: String,
}

fn ip(args: &[&str]) -> Result<(), String> {
    let out = Command::new("ip")
        .args(args)
        .output()
        .map_err(|e| format!("cannot run ip: {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "ip {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}

impl NetNs {
    /// Creates `pharos-compat-<pid>` with eth0..eth3.
    pub fn create() -> Result<Self, String> {
        let name = format!("pharos-compat-{}", std::process::id());
        // A namespace left by an earlier run with the same pid (pids get reused) is ours too.
        let _ = ip(&["netns", "del", &name]);
        ip(&["netns", "add", &name])?;
        // From here on, Drop cleans up whatever was made.
        let ns = NetNs { name };
        ns.setup()?;
        Ok(ns)
    }

    fn setup(&self) -> Result<(), String> {
        let n = self.name.as_str();
        ip(&["-n", n, "link", "set", "lo", "up"])?;
        for (i, v4) in V4.iter().enumerate() {
            let dev = format!("eth{i}");
            let peer = format!("eth{i}p");
            let v6 = format!("2001:db8:{i}::1/64");
            ip(&[
                "link", "add", &dev, "netns", n, "type", "veth", "peer", "name", &peer, "netns", n,
            ])?;
            ip(&["-n", n, "addr", "add", v4, "dev", &dev])?;
            ip(&["-n", n, "-6", "addr", "add", &v6, "dev", &dev, "nodad"])?;
            ip(&["-n", n, "link", "set", &dev, "up"])?;
            ip(&["-n", n, "link", "set", &peer, "up"])?;
        }
        Ok(())
    }

    /// The namespace name, for `ip netns exec NAME`.
    pub fn name(&self) -> &str {
        &self.name
    }
}

impl Drop for NetNs {
    fn drop(&mut self) {
        // Deleting the namespace removes its veth pairs with it.
        if let Err(e) = ip(&["netns", "del", &self.name]) {
            eprintln!(
                "warning: could not delete network namespace {}: {e}",
                self.name
            );
        }
    }
}
