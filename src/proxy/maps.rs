//! haproxy's map files for the `map*` converters (`%[req.hdr(host),lower,
//! map_dom(/etc/haproxy/hosts.map,be_default)]`): one `key value` per line,
//! `#` comments and blank lines skipped. How a key matches, as 2.6 matches
//! (checked against it): `map`/`map_str` the whole input, case-sensitive;
//! `map_beg` the longest key the input starts with; `map_ip` the longest
//! network holding the address; `map_end`, `map_sub` and `map_dom` (whole
//! dot-separated labels) the first key in the file's order; `map_int` the
//! number; `map_reg` the first key (a regular expression) in the file's
//! order that matches, `map_regm` too with `\N` in the value replaced by
//! the groups.
//! Files are read when the configuration is bound (before `chroot`), and
//! kept for the process's life.

use std::borrow::Cow;
use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex, OnceLock};

/// The entries of one map file, in the file's order.
#[derive(Debug, Default)]
pub struct MapFile {
    entries: Vec<(String, Vec<u8>)>,
}

impl MapFile {
    /// Reads a map file's text.
    pub fn parse(text: &str) -> MapFile {
        let entries = text
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
            .map(|l| match l.split_once(char::is_whitespace) {
                Some((k, v)) => (k.to_string(), v.trim().as_bytes().to_vec()),
                None => (l.to_string(), Vec::new()),
            })
            .collect();
        MapFile { entries }
    }

    /// The value for `input` under the match of converter `name` (built
    /// for `map_regm`, else the file's).
    pub fn lookup(&self, name: &str, input: &[u8]) -> Option<Cow<'_, [u8]>> {
        let kind = name
            .strip_prefix("map_")
            .map_or("str", |k| k.split('_').next().unwrap_or("str"));
        if kind == "reg" || kind == "regm" {
            let text = std::str::from_utf8(input).ok()?;
            return self.entries.iter().find_map(|(k, v)| {
                let re = super::rewrite::compiled(k, false)?;
                let caps = re.captures(text.as_bytes())?;
                Some(if kind == "regm" {
                    Cow::Owned(super::rewrite::substitute(v, &caps))
                } else {
                    Cow::Borrowed(v.as_slice())
                })
            });
        }
        self.lookup_plain(kind, input).map(Cow::Borrowed)
    }

    /// The matches that need no regular expression.
    fn lookup_plain(&self, kind: &str, input: &[u8]) -> Option<&[u8]> {
        let text = std::str::from_utf8(input).ok()?;
        let first = |hit: &dyn Fn(&str) -> bool| {
            self.entries
                .iter()
                .find(|(k, _)| hit(k))
                .map(|(_, v)| v.as_slice())
        };
        match kind {
            "str" => first(&|k| k == text),
            "end" => first(&|k| text.ends_with(k)),
            "sub" => first(&|k| text.contains(k)),
            "dom" => first(&|k| dom_match(text, k)),
            "int" => {
                let n: i64 = text.trim().parse().ok()?;
                first(&|k| k.parse::<i64>() == Ok(n))
            }
            "beg" => self
                .entries
                .iter()
                .filter(|(k, _)| text.starts_with(k.as_str()))
                .max_by_key(|(k, _)| k.len())
                .map(|(_, v)| v.as_slice()),
            "ip" => {
                let ip: IpAddr = text.parse().ok()?;
                self.entries
                    .iter()
                    .filter_map(|(k, v)| Some((network_len(k, ip)?, v)))
                    .max_by_key(|(len, _)| *len)
                    .map(|(_, v)| v.as_slice())
            }
            _ => None,
        }
    }
}

/// `key` as whole labels of the dotted `input` (`example.com` is in
/// `www.example.com`, not in `myexample.com`).
fn dom_match(input: &str, key: &str) -> bool {
    input.match_indices(key).any(|(i, _)| {
        let before = i == 0 || input.as_bytes()[i - 1] == b'.';
        let end = i + key.len();
        let after = end == input.len() || input.as_bytes()[end] == b'.';
        before && after
    })
}

/// The prefix length of network `key` (`10.0.0.0/8`, or an address) when
/// it holds `ip`.
fn network_len(key: &str, ip: IpAddr) -> Option<u32> {
    let (addr, len) = match key.split_once('/') {
        Some((a, l)) => (a.parse::<IpAddr>().ok()?, l.parse::<u32>().ok()?),
        None => {
            let a: IpAddr = key.parse().ok()?;
            (a, if a.is_ipv4() { 32 } else { 128 })
        }
    };
    let holds = match (addr, ip) {
        (IpAddr::V4(n), IpAddr::V4(i)) if len <= 32 => {
            let mask = u32::MAX.checked_shl(32 - len).unwrap_or(0);
            u32::from(n) & mask == u32::from(i) & mask
        }
        (IpAddr::V6(n), IpAddr::V6(i)) if len <= 128 => {
            let mask = u128::MAX.checked_shl(128 - len).unwrap_or(0);
            u128::from(n) & mask == u128::from(i) & mask
        }
        _ => false,
    };
    holds.then_some(len)
}

/// The map files read so far, by path as written.
fn loaded() -> &'static Mutex<HashMap<String, Arc<MapFile>>> {
    static MAPS: OnceLock<Mutex<HashMap<String, Arc<MapFile>>>> = OnceLock::new();
    MAPS.get_or_init(Mutex::default)
}

/// The map at `path`: read once (a file that cannot be read is empty).
pub fn get(path: &str) -> Arc<MapFile> {
    let Ok(mut maps) = loaded().lock() else {
        return Arc::default();
    };
    Arc::clone(maps.entry(path.to_string()).or_insert_with(|| {
        Arc::new(
            std::fs::read_to_string(path)
                .map(|t| MapFile::parse(&t))
                .unwrap_or_default(),
        )
    }))
}

/// Reads every map file that the `map*(path…)` converters in `text` name,
/// so that they are known before the process changes root.
pub fn preload(text: &str) {
    let mut rest = text;
    while let Some(i) = rest.find("map") {
        let after = &rest[i + 3..];
        let open = after.find('(');
        let name_ok = open.is_some_and(|o| {
            after[..o]
                .chars()
                .all(|c| c == '_' || c.is_ascii_lowercase())
        });
        let starts_word = i == 0 || !rest.as_bytes()[i - 1].is_ascii_alphanumeric();
        if let (true, true, Some(o)) = (name_ok, starts_word, open) {
            let args = &after[o + 1..];
            let path = args.split([',', ')']).next().unwrap_or("").trim();
            // Relative paths are read from the working directory, as haproxy
            // reads them while parsing.
            if !path.is_empty() {
                get(path);
            }
        }
        rest = after;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MAP: &str = "# comment\nexample.com be_ex\nwww.example.com be_www\nfoo be_foo\n\n/api be_api\n/api/v2 be_v2\n";

    fn look(name: &str, input: &str) -> Option<String> {
        let m = MapFile::parse(MAP);
        m.lookup(name, input.as_bytes())
            .map(|v| String::from_utf8_lossy(&v).into_owned())
    }

    /// The answers haproxy 2.6.12 gave for the same file and inputs.
    #[test]
    fn matches_as_haproxy_matches() {
        let none = None::<String>;
        let s = |v: &str| Some(v.to_string());
        assert_eq!(look("map", "www.example.com"), s("be_www"));
        assert_eq!(look("map_str", "a.b.example.com"), none);
        assert_eq!(look("map_dom", "www.example.com"), s("be_ex"));
        assert_eq!(look("map_dom", "a.b.example.com"), s("be_ex"));
        assert_eq!(look("map_dom", "foobar.org"), none);
        assert_eq!(look("map_dom", "xfoo"), none);
        assert_eq!(look("map_beg", "/api/v2/x"), s("be_v2"));
        assert_eq!(look("map_beg", "/apix"), s("be_api"));
        assert_eq!(look("map_end", "www.example.com"), s("be_ex"));
        assert_eq!(look("map_end", "xfoo"), s("be_foo"));
        assert_eq!(look("map_sub", "xfoo"), s("be_foo"));
        assert_eq!(look("map_str", "EXAMPLE.COM"), none);
        let re = MapFile::parse("^/api/v[0-9]+/ apiv\n^/api api\n^/u/([a-z]+) user-\\1\n");
        let reg = |name: &str, a: &str| re.lookup(name, a.as_bytes()).map(|v| v.into_owned());
        assert_eq!(reg("map_reg", "/api/v2/x"), Some(b"apiv".to_vec()));
        assert_eq!(reg("map_reg", "/apix"), Some(b"api".to_vec()));
        assert_eq!(reg("map_regm", "/u/bob/x"), Some(b"user-bob".to_vec()));
        assert_eq!(reg("map_reg", "/other"), None);
        let ips = MapFile::parse("10.0.0.0/8 be_net\n10.1.0.0/16 be_sub\n");
        let ip = |a: &str| ips.lookup("map_ip", a.as_bytes()).map(Cow::into_owned);
        assert_eq!(ip("10.1.2.3"), Some(b"be_sub".to_vec()));
        assert_eq!(ip("10.9.2.3"), Some(b"be_net".to_vec()));
        assert_eq!(ip("11.1.2.3"), None);
    }

    #[test]
    fn preload_finds_the_files_of_map_converters() {
        let dir = std::env::temp_dir().join(format!("pharos-maps-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        let path = dir.join("h.map");
        std::fs::write(&path, "a.example b1\n").expect("map");
        let p = path.display().to_string();
        preload(&format!(
            "use_backend %[req.hdr(host),lower,map_dom({p},be_d)]"
        ));
        std::fs::remove_file(&path).expect("rm");
        // Read before the file went away.
        assert_eq!(
            get(&p).lookup("map_dom", b"a.example").as_deref(),
            Some(&b"b1"[..])
        );
        let _ = std::fs::remove_dir_all(&dir);
    }
}
