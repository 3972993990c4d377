//! Unit tests of the rule grammar and messages, against what keepalived
//! 2.2.7 printed (`-t`) and sent (strace) for the same lines.

use netlink_packet_core::{NLM_F_ACK, NLM_F_CREATE, NLM_F_EXCL, NLM_F_REQUEST};
use netlink_packet_route::AddressFamily;
use netlink_packet_route::route::RouteProtocol;
use netlink_packet_route::rule::{RuleAction, RuleAttribute, RuleFlags};

use super::super::*;
use super::words;

const RA: u16 = NLM_F_REQUEST | NLM_F_ACK;

fn rule_in(line: &str, auto: &mut RulePriorities) -> Parsed<Rule> {
    let names = RtNames::default();
    let exists = |n: &str| n != "nosuch";
    let ctx = LineContext {
        names: &names,
        is_static: false,
        interface_exists: &exists,
    };
    parse_rule(&words(line), &ctx, auto)
}

fn rule(line: &str) -> Rule {
    let p = rule_in(line, &mut RulePriorities::default());
    p.value
        .unwrap_or_else(|| panic!("{line} was refused: {:?}", p.notes))
}

fn rule_refused(line: &str) -> Vec<String> {
    let p = rule_in(line, &mut RulePriorities::default());
    assert!(p.value.is_none(), "{line} was accepted: {:?}", p.value);
    p.notes
}

fn src(s: &str) -> RuleAttribute {
    RuleAttribute::Source(s.parse().expect("test address"))
}

#[test]
fn table_rules_carry_protocol_keepalived() {
    let m = rule_message(&rule("from 198.51.100.0/24 table 100 priority 100"));
    assert_eq!(
        (m.header.family, m.header.src_len, m.header.table),
        (AddressFamily::Inet, 24, 100)
    );
    assert_eq!(m.header.action, RuleAction::ToTable);
    assert_eq!(
        m.attributes,
        vec![
            src("198.51.100.0"),
            RuleAttribute::Priority(100),
            RuleAttribute::Protocol(RouteProtocol::KeepAlived),
        ]
    );
    assert_eq!(rule_flags(Op::Add), RA | NLM_F_CREATE | NLM_F_EXCL);
    assert_eq!(rule_flags(Op::Delete), RA);

    let m = rule_message(&rule(
        "not from 10.40.0.0/16 table 100 priority 105 no_track",
    ));
    assert_eq!(m.header.flags, RuleFlags::Invert);
    assert_eq!(
        m.attributes,
        vec![src("10.40.0.0"), RuleAttribute::Priority(105)]
    );

    let m = rule_message(&rule("from 10.30.0.0/16 fwmark 5/0xff table 100 order 102"));
    assert_eq!(
        &m.attributes[1..4],
        &[
            RuleAttribute::Priority(102),
            RuleAttribute::FwMark(5),
            RuleAttribute::FwMask(255)
        ]
    );
    let m = rule_message(&rule("iif eth0 table 100 priority 104"));
    assert_eq!(m.attributes[1], RuleAttribute::Iifname("eth0".into()));
    let m = rule_message(&rule("from 10.50.0.0/16 table 1000 priority 121"));
    assert_eq!(
        (m.header.table, &m.attributes[0]),
        (0, &RuleAttribute::Table(1000))
    );
    let m = rule_message(&rule("from all to 2001:db8::/32 table 100 priority 28"));
    assert_eq!(
        (m.header.family, m.header.src_len, m.header.dst_len),
        (AddressFamily::Inet6, 0, 32)
    );
    assert_eq!(m.attributes[0], src("::"));
}

#[test]
fn other_actions() {
    let m = rule_message(&rule("to 10.41.0.0/16 blackhole priority 107"));
    assert_eq!(
        (m.header.action, m.header.table),
        (RuleAction::Blackhole, 0)
    );
    assert_eq!(
        rule_message(&rule("to 10.42.0.0/16 type unreachable priority 108"))
            .header
            .action,
        RuleAction::Unreachable
    );
    let m = rule_message(&rule("from 10.44.0.0/16 goto 200 priority 110"));
    assert_eq!(m.attributes.last(), Some(&RuleAttribute::Goto(200)));
    let m = rule_message(&rule("from 10.49.0.0/16 l3mdev priority 120"));
    assert_eq!((m.header.action, m.header.table), (RuleAction::ToTable, 0));
    assert!(m.attributes.contains(&RuleAttribute::L3MDev(true)));
    assert_eq!(
        rule("from 10.2.0.0/16 table 100 priority 010").priority,
        8,
        "base 0, as keepalived"
    );
}

#[test]
fn preferences_are_handed_out_per_family() {
    let mut auto = RulePriorities::default();
    let a = rule_in("from 10.53.0.0/16 table 100", &mut auto);
    let b = rule_in("from 10.54.0.0/16 table 100", &mut auto);
    let c = rule_in("from 2001:db8:2::/64 table 100", &mut auto);
    let prio = |p: &Parsed<Rule>| p.value.as_ref().map(|r| r.priority);
    assert_eq!(
        (prio(&a), prio(&b), prio(&c)),
        (Some(16384), Some(16383), Some(16384))
    );
    assert_eq!(
        b.notes,
        vec![
            "Rule has no preference specified - setting to 16383. This is probably not what you want."
        ]
    );
}

#[test]
fn rule_oddities_kept_from_keepalived() {
    let mut auto = RulePriorities::default();
    let p = rule_in(
        "ipproto tcp sport 1000-2000 dport 80 table 100 priority 119",
        &mut auto,
    );
    assert_eq!(p.notes, vec!["invalid dport range 80"]);
    let r = p.value.expect("kept");
    assert_eq!(
        (r.ip_proto, r.sport, r.dport),
        (Some(6), Some((1000, 2000)), None)
    );
    assert_eq!(
        rule("from 10.17.0.0/16 table 100 priority 13 sport 5-6-7").sport,
        Some((5, 6))
    );
    assert_eq!(
        rule("from 10.10.0.0/16 table 100 priority 6 fwmark 10/").fwmask,
        Some(0)
    );
    let p = rule_in(
        "from 10.52.0.0/16 table 100 priority 123 protocol 99",
        &mut auto,
    );
    assert_eq!(
        p.notes,
        vec!["Rule cannot be tracked if protocol is not RTPROT_KEEPALIVED(18), resetting protocol"]
    );
    assert_eq!(p.value.expect("kept").protocol, Some(18));
    assert_eq!(
        rule("from 10.51.0.0/16 table 100 priority 122 protocol 99 no_track").protocol,
        Some(99)
    );
}

#[test]
fn refused_rules_say_what_keepalived_says() {
    let cases: &[(&str, &[&str])] = &[
        (
            "from 10.30.0.0/16 fwmark 5/0xff table 100 pref 102",
            &["Unknown rule option pref"],
        ),
        (
            "from 10.4.0.0/16 table 0 priority 1",
            &["Table 0 is not valid"],
        ),
        (
            "from 10.5.0.0/16 table 100 blackhole priority 2",
            &[
                "Cannot specify more than one of table/nop/goto/blackhole/prohibit/unreachable/l3mdev for rule",
            ],
        ),
        (
            "from 10.12.0.0/16 l3mdev table 100 priority 8",
            &[
                "Cannot specify more than one of table/nop/goto/blackhole/prohibit/unreachable for rule",
            ],
        ),
        (
            "from 10.13.0.0/16 table 100 l3mdev priority 9",
            &["Cannot specify l3mdev with other action"],
        ),
        (
            "from 10.6.0.0/16 priority 3",
            &["No action specified for rule - ignoring"],
        ),
        (
            "from 10.7.0.0/16 goto 3 priority 4",
            &["Invalid rule - preference 4 >= goto target 3"],
        ),
        (
            "from 10.8.0.0/16 goto 30",
            &["Invalid rule - goto target 30 specified without preference"],
        ),
        (
            "from 10.9.0.0/16 table 100 priority 5 fwmark 0x10/-1",
            &["Invalid rule fwmark 0x10/-1 specified"],
        ),
        (
            "from 10.14.0.0/16 blackhole priority 10 realms 5",
            &["suppressor/realm specified for non table action - skipping"],
        ),
        ("inet6 table 100 priority 124", &["Invalid rule action 100"]),
        (
            "inet6 from 2001:db8:2::/64 table 100",
            &["Unknown rule option 2001:db8:2::/64"],
        ),
        (
            "from 10.3.0.0/16 table 100 priority 4294967296",
            &[
                "number '4294967296' outside unsigned integer range",
                "Invalid rule preference priority specified",
            ],
        ),
        (
            "from 10.22.0.0/16 table 100 priority 18 type local",
            &["Invalid rule action local"],
        ),
        (
            "from 2001:db8::/32 to 10.0.0.0/8 table 100 priority 21",
            &["rule specification has mixed IPv4 and IPv6"],
        ),
        (
            "table 100 priority 4 iif nosuch",
            &["WARNING - interface nosuch for rule doesn't exist"],
        ),
        (
            "from 10.0.0.0/8 table 100 priority 7 suppress_prefixlength 2147483648",
            &[
                "number '2147483648' outside range [0, 2147483647]",
                "Invalid suppress_prefixlength suppress_prefixlength specified",
            ],
        ),
        (
            "from 10.0.0.0/8 table 100 priority 9 goto bogus",
            &["invalid number 'bogus'", "Invalid target goto specified"],
        ),
        (
            "from 10.15.0.0/16 table 100 priority 11 uidrange 5",
            &["Invalid uidrange uidrange specified"],
        ),
        (
            "from 10.0.0.0/8 table 100 priority",
            &[
                "*** Configuration line starting `from` is missing a parameter after keyword `priority` at word position 6",
            ],
        ),
    ];
    for (line, want) in cases {
        assert_eq!(&rule_refused(line), want, "{line}");
    }
}
