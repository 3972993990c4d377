//! The fixture corpus under `fixtures/`: which files take part, and the per-file test
//! directives written in their first lines (`# pharos-test: -i main`,
//! `# pharos-test: env PORT=8080 OPTS="check inter 2s"`).

use std::path::{Path, PathBuf};

/// Which reader a fixture is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Keepalived,
    Haproxy,
}

/// One fixture file and what the test must pass along with it.
#[derive(Clone, Debug)]
pub struct Fixture {
    pub kind: Kind,
    /// Absolute path of the file.
    pub path: PathBuf,
    /// Path relative to `fixtures/`, used in reports and in `exceptions.txt`.
    pub name: String,
    /// Extra command-line arguments, given to both programs (e.g. `-i main`).
    pub args: Vec<String>,
    /// Environment variables set for both programs.
    pub env: Vec<(String, String)>,
}

impl Fixture {
    /// Reads the directives of `path`; `name` is its path relative to `fixtures/`.
    pub fn load(kind: Kind, path: PathBuf, name: String) -> Result<Self, String> {
        let text = std::fs::read_to_string(&path).map_err(|e| format!("{name}: {e}"))?;
        let mut args = Vec::new();
        let mut env = Vec::new();
        for line in text.lines().take(5) {
            let Some(at) = line.find("pharos-test:") else {
                continue;
            };
            let words = split_words(&line[at + "pharos-test:".len()..])
                .map_err(|e| format!("{name}: bad pharos-test line: {e}"))?;
            match words.split_first() {
                Some((first, rest)) if first == "env" => {
                    for kv in rest {
                        let (k, v) = kv
                            .split_once('=')
                            .ok_or_else(|| format!("{name}: env entry without '=': {kv}"))?;
                        env.push((k.to_string(), v.to_string()));
                    }
                }
                _ => args.extend(words),
            }
        }
        Ok(Fixture {
            kind,
            path,
            name,
            args,
            env,
        })
    }

    /// Directory the programs run in (relative paths in the fixture resolve from it).
    pub fn dir(&self) -> &Path {
        self.path
            .parent()
            .expect("a fixture file always has a parent directory")
    }

    /// File name passed to `-f` (relative to [`Fixture::dir`]).
    pub fn file_name(&self) -> String {
        self.path
            .file_name()
            .expect("a fixture file always has a file name")
            .to_string_lossy()
            .into_owned()
    }
}

/// Splits a directive into words; double quotes group words (no escapes).
fn split_words(s: &str) -> Result<Vec<String>, String> {
    let mut words = Vec::new();
    let mut cur = String::new();
    let mut in_word = false;
    let mut quoted = false;
    for c in s.chars() {
        match c {
            '"' => {
                quoted = !quoted;
                in_word = true;
            }
            c if c.is_whitespace() && !quoted => {
                if in_word {
                    words.push(std::mem::take(&mut cur));
                    in_word = false;
                }
            }
            c => {
                cur.push(c);
                in_word = true;
            }
        }
    }
    if quoted {
        return Err("unterminated quote".into());
    }
    if in_word {
        words.push(cur);
    }
    Ok(words)
}

/// The repository's `fixtures/` directory.
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures")
}

/// Files directly in `dir` whose name ends with `.ext`, sorted.
fn files_in(dir: &Path, ext: &str) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|rd| {
            rd.filter_map(|e| e.ok())
                .map(|e| e.path())
                .filter(|p| p.is_file() && p.extension().is_some_and(|x| x == ext))
                .collect()
        })
        .unwrap_or_default();
    out.sort();
    out
}

fn load_all(kind: Kind, paths: Vec<PathBuf>) -> Vec<Fixture> {
    let root = root();
    paths
        .into_iter()
        .map(|p| {
            let name = p
                .strip_prefix(&root)
                .unwrap_or(&p)
                .to_string_lossy()
                .into_owned();
            Fixture::load(kind, p, name).unwrap_or_else(|e| panic!("{e}"))
        })
        .collect()
}

/// Fixtures compared with the real keepalived: `fixtures/keepalived/*.conf` (not the
/// `inc/` and `pharos-only/` subfolders) and the two seed vrouter configs.
pub fn keepalived() -> Vec<Fixture> {
    let root = root();
    let mut paths = files_in(&root.join("keepalived"), "conf");
    for node in ["vrouter1", "vrouter2"] {
        paths.push(root.join("seed").join(node).join("keepalived.conf"));
    }
    load_all(Kind::Keepalived, paths)
}

/// Configs the real keepalived cannot be run on (it hangs); Pharos must reject them.
pub fn keepalived_pharos_only() -> Vec<Fixture> {
    load_all(
        Kind::Keepalived,
        files_in(&root().join("keepalived").join("pharos-only"), "conf"),
    )
}

/// Fixtures compared with the real haproxy: `fixtures/haproxy/*.cfg` and the seed haproxy.cfg.
pub fn haproxy() -> Vec<Fixture> {
    let root = root();
    let mut paths = files_in(&root.join("haproxy"), "cfg");
    paths.push(root.join("seed").join("haproxy.cfg"));
    load_all(Kind::Haproxy, paths)
}

/// One entry of `compat-tests/exceptions.txt`.
#[derive(Clone, Debug)]
pub struct Exception {
    /// Path relative to `fixtures/`.
    pub name: String,
    /// Text Pharos's `[WARNING]` line must contain (the modern form).
    pub modern: String,
}

/// Reads `compat-tests/exceptions.txt`: `FIXTURE  MODERN FORM...`, `#` comments.
pub fn exceptions() -> Vec<Exception> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("compat-tests")
        .join("exceptions.txt");
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(|l| {
            let (name, modern) = l
                .split_once(char::is_whitespace)
                .unwrap_or_else(|| panic!("exceptions.txt: no modern form on line {l:?}"));
            Exception {
                name: name.to_string(),
                modern: modern.trim().to_string(),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::split_words;

    #[test]
    fn directive_words_honour_double_quotes() {
        assert_eq!(
            split_words(r#" env A=1 OPTS="check inter 2s" B="#).expect("a valid directive"),
            vec!["env", "A=1", "OPTS=check inter 2s", "B="]
        );
        assert!(split_words(r#"env A="x"#).is_err());
    }
}
