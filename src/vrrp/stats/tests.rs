//! The writers against keepalived 2.2.7's own dumps (fixtures/keepalived/
//! dumps/, made by regen.sh): the same configuration, read by Pharos's
//! parser, and the same running state must give the same bytes. The state
//! values below are copied from those dumps; update them after a regen.

use super::*;
use crate::conf::keepalived::{Options, read_str};
use crate::model::keepalived::KeepalivedConfig;
use crate::vrrp::fsm::State;
use crate::vrrp::packet::{self, AdvertAuth, ChecksumContext, Expect, PROTO_VRRP, Version};
use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration as Wall;

const ERRORS_CONF: &str = include_str!("../../../fixtures/keepalived/dumps/errors/keepalived.conf");
const ERRORS_STATS: &str = include_str!("../../../fixtures/keepalived/dumps/errors/stats");
const ERRORS_JSON: &str = include_str!("../../../fixtures/keepalived/dumps/errors/json");
const ERRORS_DATA: &str = include_str!("../../../fixtures/keepalived/dumps/errors/data");
const UNICAST_CONF: &str =
    include_str!("../../../fixtures/keepalived/dumps/unicast/keepalived.conf");
const UNICAST_STATS: &str = include_str!("../../../fixtures/keepalived/dumps/unicast/stats");
const UNICAST_JSON: &str = include_str!("../../../fixtures/keepalived/dumps/unicast/json");
const UNICAST_DATA: &str = include_str!("../../../fixtures/keepalived/dumps/unicast/data");

fn config(text: &str) -> KeepalivedConfig {
    let out = read_str(text, &Options::default());
    assert!(!out.aborted, "golden config must parse");
    out.config
}

fn wall(secs: u64, micros: u32) -> Wall {
    Wall::new(secs, micros * 1000)
}

fn ip(s: &str) -> IpAddr {
    s.parse().expect("test address")
}

/// The view of instance `name` from the configuration, already running.
fn running(cfg: &KeepalivedConfig, name: &str) -> InstanceView {
    let c = cfg
        .instances
        .iter()
        .find(|i| i.name == name)
        .expect("instance in golden config");
    let mut v = InstanceView::from_config(c, cfg);
    v.ifindex = 2;
    v.src_ip = v.src_ip.or(Some(ip("198.51.100.1")));
    v
}

/// Marks an instance MASTER with its VIPs installed.
fn master(v: &mut InstanceView) {
    v.state = State::Master;
    v.wantstate = State::Master;
    v.vipset = true;
    for a in v.vips.iter_mut().chain(v.evips.iter_mut()) {
        a.set = true;
    }
}

/// The state of keepalived when it wrote errors/{stats,data,json}.
fn errors_views() -> Vec<InstanceView> {
    let cfg = config(ERRORS_CONF);
    let mut v2 = running(&cfg, "VI_V2");
    master(&mut v2);
    v2.master_priority = 200;
    v2.last_transition = wall(1_795_551_279, 483_105);
    v2.read_timeout = Some(wall(1_795_551_284, 484_648));
    v2.master_down_timer = crate::model::common::Duration::from_micros(3_414_062);
    v2.sockets = Some((13, 14));
    v2.counters = Counters {
        advert_rcvd: 3,
        advert_sent: 7,
        become_master: 2,
        release_master: 1,
        packet_len_err: 1,
        ip_ttl_err: 1,
        invalid_type_rcvd: 1,
        addr_list_err: 1,
        invalid_authtype: 1,
        authtype_mismatch: 1,
        auth_failure: 1,
        pri_zero_rcvd: 1,
        ..Counters::default()
    };
    let mut v3 = running(&cfg, "VI_V3");
    v3.state = State::Backup;
    v3.wantstate = State::Backup;
    v3.master_router = Some(ip("198.51.100.2"));
    v3.master_priority = 200;
    v3.master_advert_int = crate::model::common::Duration::from_millis(1500);
    v3.last_transition = wall(1_795_551_281, 583_383);
    v3.read_timeout = Some(wall(1_795_551_288, 880_732));
    v3.master_down_timer = crate::model::common::Duration::from_micros(5_296_875);
    v3.sockets = Some((13, 14));
    v3.counters = Counters {
        advert_rcvd: 5,
        advert_sent: 24,
        become_master: 1,
        release_master: 1,
        ip_ttl_err: 1,
        pri_zero_rcvd: 1,
        ..Counters::default()
    };
    vec![v2, v3]
}

/// The state of keepalived when it wrote unicast/{stats,data,json}.
fn unicast_views() -> Vec<InstanceView> {
    let cfg = config(UNICAST_CONF);
    let mut uni = running(&cfg, "VI_UNI");
    master(&mut uni);
    // The model makes the lower-priority GARP values follow the instance's
    // garp_master_*; keepalived 2.2.7 takes the global vrrp_garp_lower_prio_*
    // (default 5 s x5), as this dump shows.
    uni.garp.lower_prio_delay = crate::model::common::Duration::from_secs(5);
    uni.garp.lower_prio_repeat = 5;
    uni.last_transition = wall(1_795_551_292, 457_083);
    uni.read_timeout = Some(wall(1_795_551_294, 457_084));
    uni.master_down_timer = crate::model::common::Duration::from_micros(6_648_437);
    uni.sockets = Some((14, 15));
    uni.counters = Counters {
        advert_sent: 1,
        become_master: 1,
        ..Counters::default()
    };
    let mut six = running(&cfg, "VI_SIX");
    master(&mut six);
    six.src_ip = Some(ip("fe80::9834:3aff:fea8:7068"));
    six.last_transition = wall(1_795_551_286, 695_525);
    six.read_timeout = Some(wall(1_795_551_293, 710_042));
    six.master_down_timer = crate::model::common::Duration::from_micros(902_343);
    six.sockets = Some((16, 17));
    six.counters = Counters {
        advert_sent: 28,
        become_master: 1,
        ..Counters::default()
    };
    vec![uni, six]
}

fn stats_of(views: &[InstanceView]) -> String {
    let pairs: Vec<(&str, &Counters)> = views
        .iter()
        .map(|v| (v.name.as_str(), &v.counters))
        .collect();
    let mut out = Vec::new();
    write_stats(&mut out, &pairs).expect("write to a Vec");
    String::from_utf8(out).expect("stats are UTF-8")
}

fn json_of(views: &[InstanceView]) -> String {
    let mut out = Vec::new();
    write_json(&mut out, views).expect("write to a Vec");
    String::from_utf8(out).expect("json is UTF-8")
}

fn data_of(views: &[InstanceView]) -> String {
    let mut out = Vec::new();
    write_data(&mut out, views, 0).expect("write to a Vec");
    String::from_utf8(out).expect("data is UTF-8")
}

/// The VRRP topology section of a golden .data dump.
fn topology(data: &str) -> &str {
    let start = data
        .find("------< VRRP Topology >------")
        .expect("golden data has a topology section");
    let end = data
        .find("------< VRRP Sockpool >------")
        .expect("golden data has a sockpool section");
    &data[start..end]
}

#[test]
fn stats_are_keepalived_bytes() {
    assert_eq!(stats_of(&errors_views()), ERRORS_STATS);
    assert_eq!(stats_of(&unicast_views()), UNICAST_STATS);
}

#[test]
fn json_is_keepalived_bytes() {
    assert_eq!(json_of(&errors_views()), ERRORS_JSON);
    assert_eq!(json_of(&unicast_views()), UNICAST_JSON);
}

#[test]
fn data_topology_is_keepalived_bytes() {
    assert_eq!(data_of(&errors_views()), topology(ERRORS_DATA));
    assert_eq!(data_of(&unicast_views()), topology(UNICAST_DATA));
}

#[test]
fn json_is_valid_json_with_the_counters() {
    // Parsers such as keepalived-exporter read it with a JSON library.
    let parsed: serde_json::Value =
        serde_json::from_str(&json_of(&errors_views())).expect("valid JSON");
    assert_eq!(
        parsed[0]["data"]["vips"][0],
        "198.51.100.100/24 dev eth0 scope global set"
    );
    assert_eq!(parsed[1]["stats"]["advert_rcvd"], 5);
    assert_eq!(parsed[1]["data"]["state"], 1);
}

/// A VRRP message the way fixtures/keepalived/dumps/inject.py builds it.
struct Craft {
    version: u8,
    kind: u8,
    vrid: u8,
    priority: u8,
    addrs: Vec<Ipv4Addr>,
    count: Option<u8>,
    auth: u8,
    interval: u16,
    password: &'static [u8],
    bad_checksum: bool,
}

const SRC: Ipv4Addr = Ipv4Addr::new(198, 51, 100, 2);
const GROUP: Ipv4Addr = Ipv4Addr::new(224, 0, 0, 18);

impl Craft {
    fn v2() -> Self {
        Craft {
            version: 2,
            kind: 1,
            vrid: 51,
            priority: 100,
            addrs: vec![
                Ipv4Addr::new(198, 51, 100, 100),
                Ipv4Addr::new(198, 51, 100, 101),
            ],
            count: None,
            auth: 1,
            interval: 1,
            password: b"secret12",
            bad_checksum: false,
        }
    }

    fn v3() -> Self {
        Craft {
            version: 3,
            vrid: 52,
            addrs: vec![Ipv4Addr::new(198, 51, 100, 110)],
            interval: 150,
            ..Craft::v2()
        }
    }

    fn bytes(&self) -> Vec<u8> {
        let count = self.count.unwrap_or(self.addrs.len() as u8);
        let mut b = vec![
            (self.version << 4) | self.kind,
            self.vrid,
            self.priority,
            count,
        ];
        if self.version == 2 {
            b.extend([self.auth, self.interval as u8, 0, 0]);
        } else {
            b.extend((self.interval & 0x0fff).to_be_bytes());
            b.extend([0, 0]);
        }
        for a in &self.addrs {
            b.extend(a.octets());
        }
        if self.version == 2 {
            let mut pw = [0u8; 8];
            for (d, s) in pw.iter_mut().zip(self.password) {
                *d = *s;
            }
            b.extend(pw);
        }
        let version = if self.version == 2 {
            Version::V2
        } else {
            Version::V3
        };
        let mut sum = packet::checksum(&b, version, &ck());
        if self.bad_checksum {
            sum ^= 0x1234;
        }
        b[6..8].copy_from_slice(&sum.to_be_bytes());
        b
    }
}

fn ck() -> ChecksumContext {
    ChecksumContext {
        src: IpAddr::V4(SRC),
        dst: IpAddr::V4(GROUP),
        v3_as_v2: false,
    }
}

/// Feeds one advert through receive validation and the counters, as the
/// daemon does; VIP list and priority as keepalived checks them.
fn feed(c: &mut Counters, want: &Expect, ours: &[IpAddr], bytes: &[u8], ttl: u8) {
    match packet::receive(bytes, ttl, &ck(), want) {
        Ok(a) => {
            c.received(a.priority, a.addrs == ours);
        }
        Err(r) => c.reject(&r),
    }
}

#[test]
fn rejections_are_counted_where_keepalived_counts_them() {
    assert_eq!(PROTO_VRRP, 112);
    // VI_V2 of errors/keepalived.conf, and the packets regen.sh sent it.
    let want = Expect {
        version: Version::V2,
        vrid: 51,
        ipv6: false,
        interval_centis: 100,
        auth: AdvertAuth::pass("secret12"),
        unicast: false,
        ttl_window: None,
    };
    let ours = [ip("198.51.100.100"), ip("198.51.100.101")];
    let v2 = Craft::v2;
    let cases: Vec<(Craft, u8)> = vec![
        (v2(), 64),
        (
            Craft {
                password: b"wrongpw",
                ..v2()
            },
            255,
        ),
        (
            Craft {
                auth: 0,
                password: b"",
                ..v2()
            },
            255,
        ),
        (Craft { auth: 7, ..v2() }, 255),
        (
            Craft {
                interval: 3,
                ..v2()
            },
            255,
        ),
        (Craft { kind: 2, ..v2() }, 255),
        (
            Craft {
                bad_checksum: true,
                ..v2()
            },
            255,
        ),
        (
            Craft {
                count: Some(3),
                ..v2()
            },
            255,
        ),
        (Craft { version: 3, ..v2() }, 255),
        (Craft { vrid: 99, ..v2() }, 255),
        (
            Craft {
                addrs: vec![
                    Ipv4Addr::new(198, 51, 100, 100),
                    Ipv4Addr::new(198, 51, 100, 199),
                ],
                ..v2()
            },
            255,
        ),
        (
            Craft {
                priority: 0,
                ..v2()
            },
            255,
        ),
        (
            Craft {
                priority: 200,
                ..v2()
            },
            255,
        ),
    ];
    let mut c = Counters::default();
    for (craft, ttl) in &cases {
        feed(&mut c, &want, &ours, &craft.bytes(), *ttl);
    }
    // keepalived's VI_V2 counters in errors/stats (sent/master aside),
    // plus the SNMP-only checksum and version errors.
    let golden = &errors_views()[0].counters;
    let expected = Counters {
        advert_sent: 0,
        become_master: 0,
        release_master: 0,
        chk_err: 1,
        vers_err: 1,
        ..golden.clone()
    };
    assert_eq!(c, expected);

    // VI_V3: TTL 1, bad checksum, priority 0, a lower priority.
    let want = Expect {
        version: Version::V3,
        vrid: 52,
        interval_centis: 50,
        auth: AdvertAuth::None,
        ..want
    };
    let ours = [ip("198.51.100.110")];
    let v3 = Craft::v3;
    let mut c = Counters::default();
    for (craft, ttl) in [
        (v3(), 1),
        (
            Craft {
                bad_checksum: true,
                ..v3()
            },
            255,
        ),
        (
            Craft {
                priority: 0,
                ..v3()
            },
            255,
        ),
        (v3(), 255),
    ] {
        feed(&mut c, &want, &ours, &craft.bytes(), ttl);
    }
    let expected = Counters {
        advert_rcvd: 2,
        ip_ttl_err: 1,
        pri_zero_rcvd: 1,
        chk_err: 1,
        ..Counters::default()
    };
    assert_eq!(c, expected);
}

#[test]
fn interval_and_vrid_rejections_count_nothing() {
    let mut c = Counters::default();
    c.reject(&packet::Rejected::Interval);
    c.reject(&packet::Rejected::Vrid);
    assert_eq!(c, Counters::default());
}

#[test]
fn sent_counts_priority_zero_too() {
    let mut c = Counters::default();
    c.sent(150);
    c.sent(0);
    assert_eq!((c.advert_sent, c.pri_zero_sent), (2, 1));
}

#[test]
fn default_view_prints_keepalived_defaults() {
    // A v2 instance with nothing configured: no auth line but "none",
    // multicast group, no VIP block, no sockets yet.
    let v = InstanceView::new("VI_1", Version::V2, 1, false);
    let data = data_of(std::slice::from_ref(&v));
    assert!(data.contains("   Authentication type = none\n"), "{data}");
    assert!(data.contains("   Multicast address 224.0.0.18\n"), "{data}");
    assert!(data.contains("   Read timeout = DISABLED\n"), "{data}");
    assert!(data.contains("   No sockets allocated\n"), "{data}");
    assert!(!data.contains("Virtual IP"), "{data}");
    let json = json_of(std::slice::from_ref(&v));
    assert!(
        json.contains(r#""state":0,"wantstate":0,"version":2"#),
        "{json}"
    );
    assert!(!json.contains("\"vips\""), "{json}");
    assert!(json.ends_with(r#""auth_type":0},"stats":{"advert_rcvd":0,"advert_sent":0,"become_master":0,"release_master":0,"packet_len_err":0,"advert_interval_err":0,"ip_ttl_err":0,"invalid_type_rcvd":0,"addr_list_err":0,"invalid_authtype":0,"authtype_mismatch":0,"auth_failure":0,"pri_zero_rcvd":0,"pri_zero_sent":0}}]
"#), "{json}");
}

#[test]
fn scripts_and_tracking_appear_where_keepalived_puts_them() {
    // Shapes seen with keepalived 2.2.7 for a sync group member with a
    // track_script and a notify_master (see the module's report).
    let mut v = InstanceView::new("VI_A", Version::V2, 71, false);
    v.sync_group = Some("SG1".into());
    v.track_scripts.push(TrackedScriptView {
        name: "chk".into(),
        command: "'/usr/bin/true'".into(),
        weight: 0,
        reverse: false,
    });
    v.notify.master = Some(ScriptView {
        command: "'/usr/bin/echo' 'hello' 'world'".into(),
        uid: 0,
        gid: 0,
    });
    v.sockets = Some((13, 14));
    let data = data_of(std::slice::from_ref(&v));
    assert!(
        data.contains(
            " VRRP Instance = VI_A\n   VRRP Version = 2\n   Sync group = SG1\n   State = INIT\n"
        ),
        "{data}"
    );
    assert!(data.contains("   fd_in 13, fd_out 14\n   Tracked scripts :\n     chk weight 0\n   Using smtp notification = no\n   Notify deleted = Fault\n   Master state transition script = '/usr/bin/echo' 'hello' 'world', uid:gid 0:0\n   Notify priority changes = false\n"), "{data}");
    let json = json_of(std::slice::from_ref(&v));
    assert!(json.contains(r#""notify_deleted":false,"script_master":"'\/usr\/bin\/echo' 'hello' 'world'","track_script":["'\/usr\/bin\/true'"],"auth_type":0"#), "{json}");
}
