//! keepalived's keyword tables: the union of 2.2.7 … 2.4.3 (all build
//! options), one table per block, with each keyword's check. Split by
//! subsystem: `global`, `vrrp`, `bfd`, `lvs` (virtual and real servers) and
//! `checkers`. Every block has the keyword count of reference/keepalived.md
//! §1.11 (531 nodes in all; see the count test).

mod bfd;
mod checkers;
mod global;
mod lvs;
mod vrrp;

use super::ErrClass;
use super::table::{Check, Keyword, block, line, values};

/// `u32::MAX` as an integer bound (keepalived's unsigned reads).
const U32: i64 = u32::MAX as i64;
/// `i32::MAX` as an integer bound (keepalived's signed reads).
const I32: i64 = i32::MAX as i64;
/// `u32::MAX` µs (4294.967295 s), the usual upper bound of a decimal timer.
const U32_US: u64 = u32::MAX as u64;

/// Root level (reference/keepalived.md §1.10).
pub static ROOT: &[Keyword] = &[
    block("global_defs", Check::None, global::GLOBAL_DEFS),
    line("linkbeat_use_polling", Check::None),
    line("net_namespace", Check::Word),
    line("net_namespace_ipvs", Check::OptWord),
    line("namespace_with_ipsets", Check::None),
    line("use_pid_dir", Check::None),
    line("instance", Check::Word),
    line("child_wait_time", Check::Int { min: 0, max: I32 }),
    block("track_group", Check::Word, vrrp::TRACK_GROUP),
    values("static_ipaddress", Check::None),
    values("static_routes", Check::None),
    values("static_rules", Check::None),
    block("vrrp_sync_group", Check::Word, vrrp::SYNC_GROUP),
    block("garp_group", Check::None, vrrp::GARP_GROUP),
    values("linkbeat_interfaces", Check::None),
    block("vrrp_instance", Check::Word, vrrp::INSTANCE),
    block("vrrp_script", Check::Word, vrrp::SCRIPT),
    block("vrrp_track_process", Check::Word, vrrp::TRACK_PROCESS),
    values("interface_up_down_delays", Check::None),
    block("track_file", Check::Word, vrrp::TRACK_FILE),
    block("vrrp_track_file", Check::Word, vrrp::TRACK_FILE)
        .alias_of("track_file")
        .deprecated(
            "\"vrrp_track_file\" is deprecated, please use \"track_file\"",
            ErrClass::Info,
        ),
    block("bfd_instance", Check::Word, bfd::BFD_INSTANCE),
    block("SSL", Check::None, lvs::SSL),
    values("virtual_server_group", Check::Word),
    block("virtual_server", Check::Words1, lvs::VIRTUAL_SERVER),
];

#[cfg(test)]
mod tests {
    use super::*;
    use crate::conf::keepalived::table::Kind;
    use crate::conf::keepalived::{Options, read_str};

    /// Keyword nodes reachable from `table`: each keyword once, plus the
    /// nodes of the sub-block it opens (shared tables once per parent).
    fn nodes(table: &[Keyword]) -> usize {
        table
            .iter()
            .map(|k| match k.kind {
                Kind::Block(sub) => 1 + nodes(sub),
                _ => 1,
            })
            .sum()
    }

    fn find<'a>(table: &'a [Keyword], name: &str) -> &'a [Keyword] {
        match table.iter().find(|k| k.name == name).map(|k| &k.kind) {
            Some(Kind::Block(sub)) => sub,
            _ => panic!("{name} is not a block"),
        }
    }

    /// reference/keepalived.md §1.11 states 533 nodes, but its own per-block
    /// table (every block filled here to its stated count) sums to 531; the
    /// two missing nodes are not named anywhere. Pinned at 531 until they are
    /// identified against the 2.4.3 sources.
    #[test]
    fn the_union_has_531_keyword_nodes() {
        assert_eq!(nodes(ROOT), 531);
    }

    #[test]
    fn counts_per_block() {
        let vs = find(ROOT, "virtual_server");
        let rs = find(vs, "real_server");
        let cases: &[(&[Keyword], usize)] = &[
            (ROOT, 25),
            (find(ROOT, "global_defs"), 140),
            (find(ROOT, "vrrp_sync_group"), 15),
            (find(ROOT, "vrrp_instance"), 70),
            (find(ROOT, "vrrp_script"), 8),
            (find(ROOT, "vrrp_track_process"), 9),
            (find(ROOT, "track_file"), 3),
            (find(ROOT, "garp_group"), 4),
            (find(ROOT, "bfd_instance"), 15),
            (find(ROOT, "SSL"), 4),
            (vs, 39),
            (rs, 26),
            (find(rs, "TCP_CHECK"), 13),
            (find(rs, "PING_CHECK"), 13),
            (find(rs, "UDP_CHECK"), 17),
            (find(rs, "DNS_CHECK"), 15),
            (find(rs, "SMTP_CHECK"), 15),
            (find(rs, "MISC_CHECK"), 10),
            (find(rs, "HTTP_GET"), 20),
            (find(rs, "SSL_GET"), 21),
            (find(find(rs, "SSL_GET"), "url"), 11),
            (find(rs, "FILE_CHECK"), 2),
            (find(rs, "BFD_CHECK"), 2),
        ];
        for (i, (table, n)) in cases.iter().enumerate() {
            assert_eq!(table.len(), *n, "case {i}");
        }
    }

    #[test]
    fn no_duplicate_names_in_a_block() {
        fn walk(table: &[Keyword]) {
            for (i, k) in table.iter().enumerate() {
                assert!(
                    !table[..i].iter().any(|o| o.name == k.name),
                    "duplicate {}",
                    k.name
                );
                if let Kind::Block(sub) = k.kind {
                    walk(sub);
                }
            }
        }
        walk(ROOT);
    }

    fn messages(text: &str) -> Vec<String> {
        read_str(text, &Options::default())
            .diagnostics
            .into_iter()
            .map(|d| d.message)
            .collect()
    }

    fn has(text: &str, wanted: &str) -> bool {
        let m = messages(text);
        m.iter().any(|x| x == wanted) || panic!("{wanted:?} not in {m:?}")
    }

    #[test]
    fn ranges_are_keepalived_s() {
        let vi = |kw: &str| format!("vrrp_instance VI {{\n{kw}\n}}\n");
        assert!(has(
            &vi("priority 256"),
            "number '256' outside range [1, 255]"
        ));
        assert!(has(
            &vi("advert_int 0.001"),
            "number '0.001' outside range [0.010000, 255.000000]"
        ));
        assert!(has(
            &vi("preempt_delay 1001"),
            "number '1001' outside range [0.000000, 1000.000000]"
        ));
        assert!(has(&vi("debug 5"), "number '5' outside range [0, 4]"));
        assert!(has(
            &vi("down_timer_adverts 0"),
            "number '0' outside range [1, 100]"
        ));
        assert!(has(
            &vi("unicast_ttl 256"),
            "number '256' outside range [0, 255]"
        ));
        assert!(has(
            "global_defs {\nvrrp_garp_master_delay 99999999\n}\n",
            "number '99999999' outside range [0, 4294]"
        ));
        let ok = messages(&vi(
            "priority 255\nadvert_int 0.01\npreempt_delay 1000\ndebug 4",
        ));
        assert!(!ok.iter().any(|m| m.contains("outside range")), "{ok:?}");
    }

    #[test]
    fn aliases_carry_the_canonical_name() {
        let out = read_str(
            "virtual_server 10.0.0.1 80 {\nlb_algo rr\nlb_kind DR\nprotocol TCP\n}\n",
            &Options::default(),
        );
        let vs = &out.config.virtual_servers[0];
        assert_eq!(vs.scheduler, "rr");
        assert!(
            !messages("virtual_server 10.0.0.1 80 {\nlb_algo rr\n}\n")
                .iter()
                .any(|m| m.contains("scheduler"))
        );
        assert!(has(
            "virtual_server 10.0.0.1 80 {\nlvs_sched bogus\n}\n",
            "Invalid lvs_scheduler 'bogus' - ignoring"
        ));
    }

    #[test]
    fn deprecations_are_reported_with_their_class() {
        let out = read_str(
            "vrrp_instance VI {\nvmac_garp_intvl 5\n}\n",
            &Options::default(),
        );
        let d = out
            .diagnostics
            .iter()
            .find(|d| d.message.contains("vmac_garp_intvl"))
            .expect("reported");
        assert_eq!(
            d.message,
            "Keyword \"vmac_garp_intvl\" is deprecated - please use \"garp_extra_if\""
        );
        assert_eq!(d.kind, ErrClass::Deprecated);
        let out = read_str(
            "global_defs {\nlvs_process_name x\n}\n",
            &Options::default(),
        );
        assert!(
            out.diagnostics.iter().all(|d| d.kind == ErrClass::Info),
            "{:?}",
            out.diagnostics
        );
        assert!(has(
            "vrrp_instance VI {\nlvs_sync_daemon_interface eth0\n}\n",
            "(VI) Specifying lvs_sync_daemon_interface against a vrrp is deprecated."
        ));
    }

    #[test]
    fn booleans_and_missing_values() {
        assert!(!read_str("global_defs {\nvrrp_min_garp\n}\n", &Options::default()).aborted);
        assert!(read_str("vrrp_instance VI {\npriority\n}\n", &Options::default()).aborted);
        assert!(
            read_str(
                "vrrp_instance VI {\nnotify_master\n}\n",
                &Options::default()
            )
            .aborted
        );
        assert!(
            !read_str(
                "vrrp_instance VI {\nnotify_deleted\n}\n",
                &Options::default()
            )
            .aborted
        );
    }
}
