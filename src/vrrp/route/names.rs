//! The names and numbers of route and rule lines as keepalived 2.2.7 reads
//! them: the iproute2 tables (`rt_tables`, `rt_protos`, `rt_scopes`,
//! `rt_dsfield`, `rt_realms`, `group`, and `/etc/protocols` for `ipproto`),
//! built in and optionally completed from the files, and its three ways of
//! reading a number (`read_unsigned` in base 10, the same in base 0, and C
//! `strtoul` for table ids), each with keepalived's wording when it fails.
//!
//! Owns: name ↔ number lookups and number syntax. Must not touch: the kernel.

use std::path::Path;

/// One iproute2 name table: `NUMBER NAME` pairs, later entries first.
#[derive(Clone, Debug, Default)]
struct Table(Vec<(String, u32)>);

impl Table {
    fn builtin(pairs: &[(u32, &str)]) -> Table {
        Table(pairs.iter().map(|(n, s)| (s.to_string(), *n)).collect())
    }

    fn get(&self, name: &str) -> Option<u32> {
        self.0
            .iter()
            .rev()
            .find(|(s, _)| s == name)
            .map(|(_, n)| *n)
    }

    /// Adds the `NUMBER NAME` lines of `text` (`#` comments, base-0 numbers).
    fn extend(&mut self, text: &str) {
        for line in text.lines() {
            let line = line.split('#').next().unwrap_or("");
            let mut words = line.split_whitespace();
            if let (Some(n), Some(name)) = (words.next(), words.next()) {
                if let Some((n, "")) = strtoul(n, 0) {
                    if let Ok(n) = u32::try_from(n) {
                        self.0.push((name.to_string(), n));
                    }
                }
            }
        }
    }
}

/// The route type names of `rtnetlink(7)` (`RTN_*`), as iproute2 spells them.
const RTN_TYPES: &[(u32, &str)] = &[
    (0, "none"),
    (1, "unicast"),
    (2, "local"),
    (3, "broadcast"),
    (4, "anycast"),
    (5, "multicast"),
    (6, "blackhole"),
    (7, "unreachable"),
    (8, "prohibit"),
    (9, "throw"),
    (10, "nat"),
    (11, "xresolve"),
];

/// Every name table a route or rule line may use.
#[derive(Clone, Debug)]
pub struct RtNames {
    tables: Table,
    protos: Table,
    scopes: Table,
    dsfields: Table,
    realms: Table,
    groups: Table,
    ip_protos: Table,
}

impl Default for RtNames {
    /// The tables of a stock Debian 12 `/etc/iproute2`, which keepalived
    /// also has built in.
    fn default() -> Self {
        RtNames {
            tables: Table::builtin(&[
                (0, "unspec"),
                (253, "default"),
                (254, "main"),
                (255, "local"),
            ]),
            protos: Table::builtin(&[
                (0, "unspec"),
                (1, "redirect"),
                (2, "kernel"),
                (3, "boot"),
                (4, "static"),
                (8, "gated"),
                (9, "ra"),
                (10, "mrt"),
                (11, "zebra"),
                (12, "bird"),
                (13, "dnrouted"),
                (14, "xorp"),
                (15, "ntk"),
                (16, "dhcp"),
                (18, "keepalived"),
                (42, "babel"),
                (99, "openr"),
                (186, "bgp"),
                (187, "isis"),
                (188, "ospf"),
                (189, "rip"),
                (192, "eigrp"),
            ]),
            scopes: Table::builtin(&[
                (0, "global"),
                (200, "site"),
                (253, "link"),
                (254, "host"),
                (255, "nowhere"),
            ]),
            dsfields: Table::builtin(&[
                (0x00, "default"),
                (0x20, "CS1"),
                (0x28, "AF11"),
                (0x30, "AF12"),
                (0x38, "AF13"),
                (0x40, "CS2"),
                (0x48, "AF21"),
                (0x50, "AF22"),
                (0x58, "AF23"),
                (0x60, "CS3"),
                (0x68, "AF31"),
                (0x70, "AF32"),
                (0x78, "AF33"),
                (0x80, "CS4"),
                (0x88, "AF41"),
                (0x90, "AF42"),
                (0x98, "AF43"),
                (0xa0, "CS5"),
                (0xb8, "EF"),
                (0xc0, "CS6"),
                (0xe0, "CS7"),
            ]),
            realms: Table::builtin(&[(0, "cosmos")]),
            groups: Table::builtin(&[(0, "default")]),
            ip_protos: Table::builtin(&[
                (0, "ip"),
                (1, "icmp"),
                (2, "igmp"),
                (4, "ipencap"),
                (6, "tcp"),
                (17, "udp"),
                (41, "ipv6"),
                (47, "gre"),
                (50, "esp"),
                (51, "ah"),
                (58, "ipv6-icmp"),
                (103, "pim"),
                (112, "vrrp"),
                (132, "sctp"),
                (136, "udplite"),
            ]),
        }
    }
}

impl RtNames {
    /// The built-in tables completed by the files of `dir` (normally
    /// `/etc/iproute2`, keepalived's `iproute_etc_dir`), `dir/rt_tables.d/*.conf`,
    /// `dir/rt_protos.d/*.conf` and `/etc/protocols`. Missing files are skipped.
    pub fn load(dir: &Path) -> RtNames {
        let mut names = RtNames::default();
        let read = |p: &Path| std::fs::read_to_string(p).unwrap_or_default();
        let with_d = |t: &mut Table, base: &str| {
            t.extend(&read(&dir.join(base)));
            let pattern = dir.join(format!("{base}.d/*.conf"));
            for p in glob::glob(&pattern.to_string_lossy())
                .into_iter()
                .flatten()
                .flatten()
            {
                t.extend(&read(&p));
            }
        };
        with_d(&mut names.tables, "rt_tables");
        with_d(&mut names.protos, "rt_protos");
        names.scopes.extend(&read(&dir.join("rt_scopes")));
        names.dsfields.extend(&read(&dir.join("rt_dsfield")));
        names.realms.extend(&read(&dir.join("rt_realms")));
        names.groups.extend(&read(&dir.join("group")));
        // /etc/protocols is `NAME NUMBER ALIASES`: swap the first two words.
        let protocols: String = read(Path::new("/etc/protocols"))
            .lines()
            .filter_map(|l| {
                let mut w = l.split('#').next().unwrap_or("").split_whitespace();
                Some(format!("{} {}\n", w.clone().nth(1)?, w.next()?))
            })
            .collect();
        names.ip_protos.extend(&protocols);
        names
    }

    /// `table`/`lookup`: a name, or any number C `strtoul` reads (base 0),
    /// truncated to 32 bits as keepalived does (`-1` is 4294967295).
    pub fn table(&self, word: &str) -> Option<u32> {
        self.tables.get(word).or_else(|| match strtoul(word, 0) {
            // Truncation is keepalived's: "table 4294967296" is table 0.
            Some((n, "")) => Some(n as u32),
            _ => None,
        })
    }

    /// `protocol` of a route: a name or a number 0..=255.
    pub fn protocol(&self, word: &str) -> Option<u8> {
        byte(self.protos.get(word), word)
    }

    /// `scope`: a name of `rt_scopes` (not `universe`) or a number 0..=255.
    pub fn scope(&self, word: &str) -> Option<u8> {
        byte(self.scopes.get(word), word)
    }

    /// `tos`/`dsfield`: a name of `rt_dsfield` or a number 0..=255.
    pub fn dsfield(&self, word: &str) -> Option<u8> {
        byte(self.dsfields.get(word), word)
    }

    /// A route type (`unicast`, `blackhole`, … or its number).
    pub fn route_type(&self, word: &str) -> Option<u8> {
        byte(Table::builtin(RTN_TYPES).get(word), word)
    }

    /// `realms [FROM/]TO`: `FROM << 16 | TO`, each a name or a 16-bit number.
    pub fn realms(&self, word: &str) -> Option<u32> {
        let one = |w: &str| -> Option<u32> {
            let n = self.realms.get(w).or_else(|| match strtoul(w, 0) {
                Some((n, "")) => u32::try_from(n).ok(),
                _ => None,
            })?;
            (n <= 0xffff).then_some(n)
        };
        match word.split_once('/') {
            Some((from, to)) => Some(one(from)? << 16 | one(to)?),
            None => one(word),
        }
    }

    /// `suppress_ifgroup`: a name of `group` or a 32-bit number.
    pub fn group(&self, word: &str) -> Option<u32> {
        self.groups.get(word).or_else(|| match strtoul(word, 0) {
            Some((n, "")) => u32::try_from(n).ok(),
            _ => None,
        })
    }

    /// `ipproto`: a decimal number up to 127 or a name of `/etc/protocols`.
    pub fn ip_proto(&self, word: &str) -> Option<u8> {
        let w = word.trim_start();
        if w.is_empty() || w.starts_with('-') {
            return None;
        }
        match strtoul(w, 10) {
            Some((n, "")) => u8::try_from(n).ok().filter(|n| *n <= 127),
            _ => self.ip_protos.get(w).and_then(|n| u8::try_from(n).ok()),
        }
    }
}

/// A name's number, else a base-0 number, if it fits a byte.
fn byte(named: Option<u32>, word: &str) -> Option<u8> {
    let n = match named {
        Some(n) => u64::from(n),
        None => match strtoul(word, 0) {
            Some((n, "")) => n,
            _ => return None,
        },
    };
    u8::try_from(n).ok()
}

/// C `strtoul(word, &end, base)`: leading blanks, an optional sign (a minus
/// negates modulo 2^64), base 0 = `0x` hex / leading-`0` octal / decimal.
/// The value (`u64::MAX` on overflow) and the unread rest; `None` when no
/// digit was read.
pub fn strtoul(word: &str, base: u32) -> Option<(u64, &str)> {
    let s = word.trim_start_matches([' ', '\t', '\n', '\r', '\x0b', '\x0c']);
    let (neg, s) = match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    let hex_prefix = s.len() > 2
        && (s.starts_with("0x") || s.starts_with("0X"))
        && s.as_bytes()[2].is_ascii_hexdigit();
    let (radix, digits) = match base {
        0 if hex_prefix => (16, &s[2..]),
        0 if s.starts_with('0') => (8, s),
        0 => (10, s),
        16 if hex_prefix => (16, &s[2..]),
        b => (b, s),
    };
    let end = digits
        .find(|c: char| !c.is_digit(radix))
        .unwrap_or(digits.len());
    if end == 0 {
        return None;
    }
    let value = u64::from_str_radix(&digits[..end], radix).unwrap_or(u64::MAX);
    let value = if neg { value.wrapping_neg() } else { value };
    Some((value, &digits[end..]))
}

/// keepalived's `read_unsigned`/`read_unsigned_base`: a whole word holding a
/// number in `min..=max`, or the message keepalived logs for it.
pub fn read_unsigned(word: &str, base: u32, min: u32, max: u32) -> Result<u32, String> {
    let w = word.trim_start();
    if w.starts_with('-') && strtoul(w, base).is_some_and(|(_, rest)| rest.is_empty()) {
        return Err(format!("negative number '{word}'"));
    }
    let n = match strtoul(w, base) {
        Some((n, "")) => n,
        _ => return Err(format!("invalid number '{word}'")),
    };
    let n =
        u32::try_from(n).map_err(|_| format!("number '{word}' outside unsigned integer range"))?;
    if n < min || n > max {
        return Err(format!("number '{word}' outside range [{min}, {max}]"));
    }
    Ok(n)
}

/// keepalived's `get_u32`/`get_u8` (base 10): the number, or the notes it
/// logs: `read_unsigned`'s and then `what` with the word in place of `%s`.
pub fn number(word: &str, max: u32, what: &str, notes: &mut Vec<String>) -> Option<u32> {
    match read_unsigned(word, 10, 0, max) {
        Ok(n) => Some(n),
        Err(e) => {
            notes.push(e);
            notes.push(what.replace("%s", word));
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strtoul_is_c_like() {
        assert_eq!(strtoul("0x64", 0), Some((100, "")));
        assert_eq!(strtoul("010", 0), Some((8, "")));
        assert_eq!(strtoul("010", 10), Some((10, "")));
        assert_eq!(strtoul("-1", 0), Some((u64::MAX, "")));
        assert_eq!(strtoul("+5x", 10), Some((5, "x")));
        assert_eq!(strtoul("abc", 0), None);
        assert_eq!(strtoul("99999999999999999999999", 10), Some((u64::MAX, "")));
    }

    #[test]
    fn tables_and_their_numbers() {
        let n = RtNames::default();
        assert_eq!(n.table("main"), Some(254));
        assert_eq!(n.table("0x64"), Some(100));
        assert_eq!(n.table("-1"), Some(u32::MAX));
        assert_eq!(n.table("4294967296"), Some(0), "truncated like keepalived");
        assert_eq!(n.table("nosuch"), None);
        assert_eq!(n.protocol("openr"), Some(99));
        assert_eq!(n.protocol("256"), None);
        assert_eq!(n.scope("global"), Some(0));
        assert_eq!(n.scope("universe"), None);
        assert_eq!(n.dsfield("16"), Some(0x10));
        assert_eq!(n.dsfield("lowdelay"), None);
        assert_eq!(n.dsfield("0x100"), None);
        assert_eq!(n.realms("1/2"), Some(65538));
        assert_eq!(n.realms("cosmos/5"), Some(5));
        assert_eq!(n.route_type("blackhole"), Some(6));
        assert_eq!(n.ip_proto("tcp"), Some(6));
        assert_eq!(n.ip_proto("200"), None);
        assert_eq!(n.group("default"), Some(0));
    }

    #[test]
    fn read_unsigned_speaks_keepalived() {
        assert_eq!(read_unsigned("010", 10, 0, u32::MAX), Ok(10));
        assert_eq!(read_unsigned("010", 0, 0, u32::MAX), Ok(8));
        assert_eq!(read_unsigned("+5", 10, 0, u32::MAX), Ok(5));
        assert_eq!(
            read_unsigned("0x10", 10, 0, u32::MAX),
            Err("invalid number '0x10'".into())
        );
        assert_eq!(
            read_unsigned("-1", 10, 0, u32::MAX),
            Err("negative number '-1'".into())
        );
        assert_eq!(
            read_unsigned("4294967296", 10, 0, u32::MAX),
            Err("number '4294967296' outside unsigned integer range".into())
        );
        assert_eq!(
            read_unsigned("256", 10, 0, 255),
            Err("number '256' outside range [0, 255]".into())
        );
    }

    #[test]
    fn files_extend_the_builtins() {
        let dir = std::env::temp_dir().join(format!("pharos-rtnames-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("rt_tables.d")).expect("temp dir");
        std::fs::write(dir.join("rt_tables"), "# c\n100\tvip\n").expect("write");
        std::fs::write(dir.join("rt_tables.d/x.conf"), "0x65 other\n").expect("write");
        let n = RtNames::load(&dir);
        let _ = std::fs::remove_dir_all(&dir);
        assert_eq!(
            (n.table("vip"), n.table("other"), n.table("main")),
            (Some(100), Some(101), Some(254))
        );
    }
}
