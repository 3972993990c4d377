//! VRRP I/O against the real kernel (needs root): VIPs over rtnetlink
//! (`pharos::vrrp::addr`) and GARP/NA over AF_PACKET (`pharos::vrrp::garp`),
//! in network namespaces these tests create and delete (Drop guards). The
//! GARP/NA frames are compared byte for byte with what keepalived 2.2.7 sends.
//!
//! Each test re-runs its own binary under `ip netns exec NS` for the parts that
//! must live inside a namespace (the child sees `PHAROS_VRRP_IO_ROLE`), so no
//! thread ever changes namespace. Only 198.51.100.0/24, 203.0.113.0/24 and
//! 2001:db8::/32 are used, and only inside the namespaces.

use std::env;
use std::fmt::Write as _;
use std::io::{BufRead, BufReader, Read};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::path::PathBuf;
use std::process::{Child, ChildStdout, Command, Output, Stdio};
use std::time::{Duration, Instant};

use pharos::model::Prefix;
use pharos::model::keepalived::VirtualAddress;
use pharos::vrrp::addr::{self, AddrError, OperState, Outcome};
use pharos::vrrp::garp;

const ROLE: &str = "PHAROS_VRRP_IO_ROLE";
const VIP4: Ipv4Addr = Ipv4Addr::new(198, 51, 100, 10);
const VIP6: Ipv6Addr = Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 0x10);

// ---------------------------------------------------------------- harness

/// Network namespaces of one test; deleted on drop (veths go with them).
struct Netns(Vec<String>);

impl Netns {
    fn new(tags: &[&str]) -> Netns {
        let mut ns = Netns(Vec::new());
        for t in tags {
            let name = format!("phx-{t}-{}", std::process::id());
            // A leftover from a killed run of the same pid would make `add` fail.
            let _ = Command::new("ip").args(["netns", "del", &name]).output();
            ip(&["netns", "add", &name]);
            ns.0.push(name.clone());
            ip(&["-n", &name, "link", "set", "lo", "up"]);
        }
        ns
    }

    fn name(&self, i: usize) -> &str {
        &self.0[i]
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        for n in &self.0 {
            let _ = Command::new("ip").args(["netns", "del", n]).output();
        }
    }
}

/// A process we started; SIGTERM, then SIGKILL, and always reaped.
struct Started(Child);

impl Drop for Started {
    fn drop(&mut self) {
        // Already reaped (std caches the status): its pid may belong to someone else now.
        if let Ok(Some(_)) = self.0.try_wait() {
            return;
        }
        let pid = nix::unistd::Pid::from_raw(self.0.id() as i32);
        let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM);
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.0.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A scratch directory, removed on drop.
struct TempDir(PathBuf);

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn ip(args: &[&str]) -> String {
    let out = Command::new("ip").args(args).output().expect("run ip");
    assert!(
        out.status.success(),
        "ip {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Two namespaces joined by a veth pair: `veth0` in `a`, `veth1` in `b`
/// (`a == b` puts both ends in one namespace). IPv6 DAD is off so link-local
/// addresses are usable at once.
fn veth(a: &str, b: &str) {
    for n in [a, b] {
        let out = Command::new("ip")
            .args([
                "netns",
                "exec",
                n,
                "sysctl",
                "-qw",
                "net.ipv6.conf.default.accept_dad=0",
            ])
            .output()
            .expect("run sysctl");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    ip(&[
        "link", "add", "veth0", "netns", a, "type", "veth", "peer", "name", "veth1", "netns", b,
    ]);
    ip(&["-n", a, "addr", "add", "198.51.100.1/24", "dev", "veth0"]);
    ip(&["-n", b, "addr", "add", "198.51.100.2/24", "dev", "veth1"]);
    ip(&["-n", a, "link", "set", "veth0", "up"]);
    ip(&["-n", b, "link", "set", "veth1", "up"]);
}

/// This test binary, run as `test` inside `ns` in role `role`.
fn spawn_role(ns: &str, test: &str, role: &str) -> Child {
    let exe = env::current_exe().expect("test binary path");
    Command::new("ip")
        .args(["netns", "exec", ns])
        .arg(exe)
        .args(["--exact", test, "--nocapture", "--test-threads=1"])
        .env(ROLE, role)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn child test")
}

fn check(out: &Output, what: &str) -> String {
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{what} failed ({}):\n--- stdout\n{stdout}\n--- stderr\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("tokio runtime")
}

/// The text after `TAG ` in a child's output line (libtest may print
/// `test NAME ... ` in front of it).
fn tagged<'a>(line: &'a str, tag: &str) -> Option<&'a str> {
    let at = line.find(&format!("{tag} "))?;
    Some(line[at + tag.len() + 1..].trim_end())
}

fn hex(b: &[u8]) -> String {
    b.iter().fold(String::new(), |mut s, x| {
        let _ = write!(s, "{x:02x}");
        s
    })
}

fn unhex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).expect("hex"))
        .collect()
}

fn vip(s: &str) -> VirtualAddress {
    let (a, len) = match s.split_once('/') {
        Some((a, l)) => (a, l.parse().expect("prefix")),
        None => (s, if s.contains(':') { 128 } else { 32 }),
    };
    let addr: IpAddr = a.parse().expect("address");
    VirtualAddress {
        prefix: Prefix { addr, len },
        dev: None,
        broadcast: None,
        scope: None,
        label: None,
        peer: None,
        nodad: addr.is_ipv6(),
        no_track: false,
        preferred_lft_forever: false,
        use_vmac: false,
        flags: Vec::new(),
    }
}

/// The `ip -o addr show dev veth0` line holding `needle`, if any.
fn addr_line(needle: &str) -> Option<String> {
    ip(&["-o", "addr", "show", "dev", "veth0"])
        .lines()
        .find(|l| l.contains(needle))
        .map(str::to_string)
}

// ------------------------------------------------------------ child roles

/// Inside the namespace: add/remove VIPs with our code, check with `ip`.
fn role_vip() {
    let rt = runtime();
    rt.block_on(async {
        let h = addr::connect().expect("netlink");
        let link = addr::link(&h, "veth0").await.expect("veth0");
        let idx = link.index;

        // (vip, what `ip -o addr` must show while it is installed)
        let mut label = vip("198.51.100.10");
        label.label = Some("veth0:vip".into());
        let mut brd = vip("203.0.113.5/24");
        brd.broadcast = Some("+".into());
        let mut peer = vip("198.51.100.20");
        peer.peer = Some(Prefix {
            addr: "198.51.100.21".parse().expect("ip"),
            len: 32,
        });
        let mut scope = vip("198.51.100.30");
        scope.scope = Some("link".into());
        let mut dad = vip("2001:db8::20/64");
        dad.nodad = false;
        let mut forever = vip("2001:db8::30");
        forever.preferred_lft_forever = true;
        let cases: Vec<(VirtualAddress, &str, Vec<&str>, Vec<&str>)> = vec![
            (
                label,
                "inet 198.51.100.10/",
                vec!["inet 198.51.100.10/32 ", "scope global veth0:vip"],
                vec![],
            ),
            (
                brd,
                "inet 203.0.113.5/",
                vec!["203.0.113.5/24 brd 203.0.113.255 scope global veth0"],
                vec![],
            ),
            (
                peer,
                "inet 198.51.100.20 ",
                vec!["198.51.100.20 peer 198.51.100.21/32"],
                vec![],
            ),
            (
                scope,
                "inet 198.51.100.30/",
                vec!["198.51.100.30/32 scope link"],
                vec![],
            ),
            (
                vip("2001:db8::10"),
                "2001:db8::10/",
                vec![
                    "2001:db8::10/128",
                    "nodad",
                    "preferred_lft 0sec",
                    "valid_lft forever",
                ],
                vec![],
            ),
            (
                dad,
                "2001:db8::20/",
                vec!["2001:db8::20/64", "preferred_lft forever"],
                vec!["nodad"],
            ),
            (
                forever,
                "2001:db8::30/",
                vec!["2001:db8::30/128", "nodad", "preferred_lft forever"],
                vec!["0sec"],
            ),
        ];
        for (v, needle, must, must_not) in &cases {
            assert_eq!(
                addr::add(&h, idx, v).await.expect("add"),
                Outcome::Changed,
                "{v:?}"
            );
            assert_eq!(
                addr::add(&h, idx, v).await.expect("re-add"),
                Outcome::Unchanged,
                "EEXIST is fine"
            );
            let line = addr_line(needle).unwrap_or_else(|| panic!("{needle} not installed"));
            println!("INSTALLED {line}");
            for m in must {
                assert!(line.contains(m), "`{line}` lacks `{m}`");
            }
            for m in must_not {
                assert!(!line.contains(m), "`{line}` has `{m}`");
            }
            assert!(
                addr::present(&h, "veth0", v).await.expect("present"),
                "{v:?}"
            );
            assert_eq!(
                addr::remove(&h, idx, v).await.expect("remove"),
                Outcome::Changed
            );
            assert!(
                addr_line(needle).is_none(),
                "{needle} still there after remove"
            );
            assert!(!addr::present(&h, "veth0", v).await.expect("present"));
            assert_eq!(
                addr::remove(&h, idx, v).await.expect("re-remove"),
                Outcome::Unchanged
            );
        }

        // list() reports what the kernel holds: NODAD and preferred 0 on a v6 /128.
        let v6 = vip("2001:db8::10");
        addr::add(&h, idx, &v6).await.expect("add");
        let listed = addr::list(&h, "veth0").await.expect("list");
        let got = listed
            .iter()
            .find(|a| a.prefix == v6.prefix)
            .expect("listed");
        assert_eq!(
            (got.flags & 0x02, got.preferred_lft),
            (0x02, Some(0)),
            "{got:?}"
        );
        assert!(
            listed
                .iter()
                .any(|a| a.prefix.to_string() == "198.51.100.1/24")
        );
        addr::remove(&h, idx, &v6).await.expect("remove");

        // Link lookup and state for tracking.
        assert!(link.is_up() && link.oper == OperState::Up, "{link:?}");
        assert!(link.mac.is_some());
        assert!(matches!(
            addr::link(&h, "nosuch0").await,
            Err(AddrError::NoSuchInterface(_))
        ));
        ip(&["link", "set", "veth1", "down"]);
        let down = addr::link(&h, "veth0").await.expect("veth0");
        assert!(
            !down.is_up() && down.oper == OperState::LowerLayerDown,
            "{down:?}"
        );
        assert!(
            addr::links(&h)
                .await
                .expect("dump")
                .iter()
                .any(|l| l.name == "lo")
        );
        println!("VIP-ROLE-DONE");
    });
}

/// Inside the namespace: send one GARP and one NA on veth0 with our code.
fn role_send() {
    let rt = runtime();
    let link = rt.block_on(async {
        let h = addr::connect().expect("netlink");
        addr::link(&h, "veth0").await.expect("veth0")
    });
    let mac = link.mac.expect("veth0 has a MAC");
    let tx =
        garp::Sender::open(link.index, mac, garp::ipv6_forwarding("veth0")).expect("AF_PACKET");
    for _ in 0..2 {
        tx.announce(IpAddr::V4(VIP4)).expect("send GARP");
        tx.announce(IpAddr::V6(VIP6)).expect("send NA");
    }
    println!("MAC {}", hex(&mac));
}

/// Inside the namespace: capture on every interface until one GARP for VIP4
/// and one NA for VIP6 have arrived (10 s at most); print them as hex.
fn role_capture() {
    let proto = socket2::Protocol::from(i32::from((libc::ETH_P_ALL as u16).to_be()));
    let sock = socket2::Socket::new(socket2::Domain::PACKET, socket2::Type::RAW, Some(proto))
        .expect("AF_PACKET capture socket");
    sock.set_read_timeout(Some(Duration::from_millis(200)))
        .expect("timeout");
    println!("READY");
    let deadline = Instant::now() + Duration::from_secs(10);
    let (mut arp, mut na) = (false, false);
    let mut buf = [0u8; 2048];
    while !(arp && na) && Instant::now() < deadline {
        let Ok(n) = (&sock).read(&mut buf) else {
            continue;
        };
        let f = &buf[..n];
        let is_arp = n >= 42 && f[12..14] == [0x08, 0x06] && f[28..32] == VIP4.octets();
        let is_na = n >= 78
            && f[12..14] == [0x86, 0xdd]
            && f[20] == 58
            && f[54] == 136
            && f[62..78] == VIP6.octets();
        if (is_arp && !arp) || (is_na && !na) {
            println!("FRAME {}", hex(f));
            arp |= is_arp;
            na |= is_na;
        }
    }
}

fn dispatch(role: &str) {
    match role {
        "vip" => role_vip(),
        "send" => role_send(),
        "capture" => role_capture(),
        other => panic!("unknown role {other}"),
    }
}

// ------------------------------------------------------------ parent side

/// Start the capture role in `ns` and wait until its socket is open.
fn start_capture(ns: &str, test: &str) -> (Started, BufReader<ChildStdout>) {
    let mut child = Started(spawn_role(ns, test, "capture"));
    let mut out = BufReader::new(child.0.stdout.take().expect("piped stdout"));
    let mut line = String::new();
    loop {
        line.clear();
        let n = out.read_line(&mut line).expect("read child");
        assert!(n > 0, "capture child ended before READY");
        // libtest prints "test NAME ... " without a newline before our output.
        if line.trim_end().ends_with("READY") {
            return (child, out);
        }
    }
}

/// Wait for the capture and return (GARP frame, NA frame).
fn finish_capture(child: &mut Child, mut out: BufReader<ChildStdout>) -> (Vec<u8>, Vec<u8>) {
    let mut rest = String::new();
    out.read_to_string(&mut rest).expect("read child");
    let status = child.wait().expect("wait capture");
    assert!(status.success(), "capture child failed: {status}\n{rest}");
    let frames: Vec<Vec<u8>> = rest
        .lines()
        .filter_map(|l| tagged(l, "FRAME"))
        .map(unhex)
        .collect();
    let arp = frames.iter().find(|f| f[12..14] == [0x08, 0x06]);
    let na = frames.iter().find(|f| f[12..14] == [0x86, 0xdd]);
    match (arp, na) {
        (Some(a), Some(n)) => (a.clone(), n.clone()),
        _ => panic!("capture incomplete:\n{rest}"),
    }
}

/// Field names of the GARP / NA layouts, for readable mismatch reports.
fn field_at(i: usize, v6: bool) -> &'static str {
    match (v6, i) {
        (_, 0..=5) => "eth dst",
        (_, 6..=11) => "eth src",
        (_, 12..=13) => "ethertype",
        (false, 14..=21) => "arp htype/ptype/hlen/plen/op",
        (false, 22..=27) => "arp sender MAC",
        (false, 28..=31) => "arp sender IP",
        (false, 32..=37) => "arp target MAC",
        (false, 38..=41) => "arp target IP",
        (true, 14..=21) => "ipv6 ver/class/flow/len/next/hlim",
        (true, 22..=37) => "ipv6 src",
        (true, 38..=53) => "ipv6 dst",
        (true, 54..=57) => "icmpv6 type/code/checksum",
        (true, 58..=61) => "na flags",
        (true, 62..=77) => "na target",
        (true, 78..=85) => "target link-layer option",
        _ => "trailer",
    }
}

fn assert_same(what: &str, theirs: &[u8], ours: &[u8], v6: bool) {
    if theirs == ours {
        return;
    }
    let mut diff = String::new();
    for i in 0..theirs.len().max(ours.len()) {
        let (t, o) = (theirs.get(i), ours.get(i));
        if t != o {
            let _ = writeln!(
                diff,
                "  byte {i} ({}): theirs {t:02x?} ours {o:02x?}",
                field_at(i, v6)
            );
        }
    }
    panic!(
        "{what} differs\n  theirs {}\n  ours   {}\n{diff}",
        hex(theirs),
        hex(ours)
    );
}

fn mac_of(ns: &str, ifname: &str) -> [u8; 6] {
    let out = ip(&["-n", ns, "-br", "link", "show", ifname]);
    let m = out
        .split_whitespace()
        .nth(2)
        .expect("MAC column")
        .replace(':', "");
    <[u8; 6]>::try_from(unhex(&m).as_slice()).expect("6-byte MAC")
}

#[test]
fn vip_add_remove_in_netns_needs_root() {
    if let Ok(role) = env::var(ROLE) {
        return dispatch(&role);
    }
    let ns = Netns::new(&["vip"]);
    veth(ns.name(0), ns.name(0));
    let child = spawn_role(ns.name(0), "vip_add_remove_in_netns_needs_root", "vip");
    let out = child.wait_with_output().expect("wait child");
    let stdout = check(&out, "vip role");
    assert!(stdout.contains("VIP-ROLE-DONE"), "{stdout}");
    print!("{stdout}");
}

#[test]
fn garp_and_na_on_the_wire_in_netns_needs_root() {
    const NAME: &str = "garp_and_na_on_the_wire_in_netns_needs_root";
    if let Ok(role) = env::var(ROLE) {
        return dispatch(&role);
    }
    let ns = Netns::new(&["tx", "rx"]);
    veth(ns.name(0), ns.name(1));
    let (mut cap, cap_out) = start_capture(ns.name(1), NAME);
    let send = spawn_role(ns.name(0), NAME, "send")
        .wait_with_output()
        .expect("wait sender");
    let stdout = check(&send, "send role");
    let mac_hex = stdout
        .lines()
        .find_map(|l| tagged(l, "MAC"))
        .expect("sender printed its MAC");
    let mac = <[u8; 6]>::try_from(unhex(mac_hex).as_slice()).expect("6-byte MAC");
    assert_eq!(mac, mac_of(ns.name(0), "veth0"));
    let (arp, na) = finish_capture(&mut cap.0, cap_out);
    assert_same("GARP", &arp, &garp::gratuitous_arp(mac, VIP4), false);
    assert_same("NA", &na, &garp::unsolicited_na(mac, VIP6, false), true);
    println!(
        "GARP on the wire: {}\nNA on the wire:   {}",
        hex(&arp),
        hex(&na)
    );
}

#[test]
fn garp_and_na_match_keepalived_in_netns_needs_root() {
    const NAME: &str = "garp_and_na_match_keepalived_in_netns_needs_root";
    if let Ok(role) = env::var(ROLE) {
        return dispatch(&role);
    }
    let ns = Netns::new(&["ka", "kc"]);
    veth(ns.name(0), ns.name(1));
    let dir = TempDir(env::temp_dir().join(format!("phx-ka-{}", std::process::id())));
    std::fs::create_dir_all(&dir.0).expect("temp dir");
    let conf = dir.0.join("keepalived.conf");
    std::fs::write(
        &conf,
        "global_defs {\n  vrrp_garp_master_delay 0\n}\n\
         vrrp_instance V4 {\n  state MASTER\n  interface veth0\n  virtual_router_id 51\n  priority 255\n  advert_int 1\n  virtual_ipaddress {\n    198.51.100.10/32\n  }\n}\n\
         vrrp_instance V6 {\n  state MASTER\n  interface veth0\n  virtual_router_id 52\n  version 3\n  priority 255\n  advert_int 1\n  virtual_ipaddress {\n    2001:db8::10/128\n  }\n}\n",
    )
    .expect("write config");
    let (mut cap, cap_out) = start_capture(ns.name(1), NAME);
    let p = |f: &str| dir.0.join(f).to_string_lossy().into_owned();
    let ka = Command::new("ip")
        .args([
            "netns",
            "exec",
            ns.name(0),
            "/usr/sbin/keepalived",
            "-n",
            "-l",
            "-D",
            "-G",
            "-P",
        ])
        .args([
            "-f",
            &p("keepalived.conf"),
            "-p",
            &p("ka.pid"),
            "-r",
            &p("vrrp.pid"),
            "-c",
            &p("chk.pid"),
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start keepalived");
    let ka = Started(ka);
    let (arp, na) = finish_capture(&mut cap.0, cap_out);
    drop(ka);
    let mac = mac_of(ns.name(0), "veth0");
    println!(
        "keepalived GARP: {}\nkeepalived NA:   {}",
        hex(&arp),
        hex(&na)
    );
    assert_same(
        "GARP vs keepalived",
        &arp,
        &garp::gratuitous_arp(mac, VIP4),
        false,
    );
    assert_same(
        "NA vs keepalived",
        &na,
        &garp::unsolicited_na(mac, VIP6, false),
        true,
    );
}
