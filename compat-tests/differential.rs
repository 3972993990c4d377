//! Same fixture, same verdict: `haproxy -c -f F` vs `pharos haproxy -c -f F`, and
//! `keepalived -t -f F` vs `pharos keepalived -t -f F` inside one private netns.
//! Every fixture is run; all mismatches are collected and reported in one table.

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::fixture::{self, Exception, Fixture, Kind};
use crate::netns::NetNs;
use crate::process::{self, Job, Outcome, Run};

const INSTALL_HINT: &str = "run `compat-tests/run-all.sh` (as root): it installs Debian's keepalived 2.2.7 \
     and haproxy 2.6 and then runs `cargo test --test compat`";

/// Optional substring filter on fixture names: `PHAROS_COMPAT_FILTER=legacy cargo test --test compat`.
fn selected(fixtures: Vec<Fixture>) -> Vec<Fixture> {
    match std::env::var("PHAROS_COMPAT_FILTER") {
        Ok(f) if !f.is_empty() => fixtures
            .into_iter()
            .filter(|x| x.name.contains(&f))
            .collect(),
        _ => fixtures,
    }
}

fn require_program(name: &str) -> PathBuf {
    process::find_program(name).unwrap_or_else(|| {
        panic!("the real `{name}` is not installed, so the differential test cannot run; {INSTALL_HINT}")
    })
}

/// A fixture whose verdicts differ, with both sides' output.
struct Mismatch {
    name: String,
    expected: String,
    original: Run,
    pharos: Run,
    note: String,
}

/// Keeps the last lines of a program's output for the report.
fn tail(s: &str, max_lines: usize) -> String {
    let lines: Vec<&str> = s.lines().collect();
    let skip = lines.len().saturating_sub(max_lines);
    let mut out = String::new();
    if skip > 0 {
        out.push_str(&format!("      ... ({skip} lines omitted)\n"));
    }
    for l in &lines[skip..] {
        out.push_str("      ");
        out.push_str(l);
        out.push('\n');
    }
    out
}

/// Fails the test with a table of every mismatch, then each pair of outputs.
fn report(what: &str, total: usize, mismatches: &[Mismatch]) {
    if mismatches.is_empty() {
        eprintln!("{what}: all {total} fixtures agree");
        return;
    }
    let width = mismatches
        .iter()
        .map(|m| m.name.len())
        .max()
        .unwrap_or(10)
        .max(7);
    let mut msg = format!(
        "{what}: {} of {total} fixtures differ\n\n{:<width$}  {:<14}  {:<14}  {}\n",
        mismatches.len(),
        "fixture",
        "original",
        "pharos",
        "expected"
    );
    for m in mismatches {
        msg.push_str(&format!(
            "{:<width$}  {:<14}  {:<14}  {}\n",
            m.name,
            m.original.outcome.to_string(),
            m.pharos.outcome.to_string(),
            m.expected
        ));
    }
    for m in mismatches {
        msg.push_str(&format!("\n=== {} ({})\n", m.name, m.expected));
        if !m.note.is_empty() {
            msg.push_str(&format!("    {}\n", m.note));
        }
        msg.push_str(&format!(
            "  original: {}\n{}",
            m.original.outcome,
            tail(&m.original.output, 25)
        ));
        msg.push_str(&format!(
            "  pharos:   {}\n{}",
            m.pharos.outcome,
            tail(&m.pharos.output, 25)
        ));
    }
    panic!("{msg}");
}

/// Runs the original and Pharos on `fx`; `wrap` prefixes both command lines (e.g. `ip netns exec NS`).
fn run_pair(
    fx: &Fixture,
    original: &Path,
    pharos_sub: &str,
    flag: &str,
    wrap: &[String],
) -> (Run, Run) {
    let mut base = vec![flag.to_string(), "-f".to_string(), fx.file_name()];
    base.extend(fx.args.iter().cloned());
    let make = |program: &Path, personality: Option<&str>| {
        let mut args: Vec<String> = wrap.to_vec();
        let exe: PathBuf;
        if wrap.is_empty() {
            exe = program.to_path_buf();
        } else {
            exe = PathBuf::from(&wrap[0]);
            args.remove(0);
            args.push(program.to_string_lossy().into_owned());
        }
        if let Some(p) = personality {
            args.push(p.to_string());
        }
        args.extend(base.iter().cloned());
        (exe, args)
    };
    let (oexe, oargs) = make(original, None);
    let (pexe, pargs) = make(&process::pharos(), Some(pharos_sub));
    let job = |exe: &Path, args: Vec<String>| {
        process::run(Job {
            program: exe,
            args,
            cwd: fx.dir(),
            env: &fx.env,
            timeout: process::TIMEOUT,
        })
    };
    let o = job(&oexe, oargs);
    let p = job(&pexe, pargs);
    (o, p)
}

/// Compares one pair of runs; pushes a mismatch when they disagree.
fn compare(fx: &Fixture, exception: Option<&Exception>, o: Run, p: Run, out: &mut Vec<Mismatch>) {
    match exception {
        None => {
            let same =
                matches!((&o.outcome, &p.outcome), (Outcome::Exit(a), Outcome::Exit(b)) if a == b);
            if !same {
                out.push(Mismatch {
                    name: fx.name.clone(),
                    expected: "same exit status".into(),
                    original: o,
                    pharos: p,
                    note: String::new(),
                });
            }
        }
        Some(ex) => {
            let mut problems = Vec::new();
            if o.outcome != Outcome::Exit(1) {
                problems.push(
                    "the original no longer exits 1 (drop this entry from exceptions.txt?)"
                        .to_string(),
                );
            }
            if p.outcome != Outcome::Exit(0) {
                problems.push("Pharos must accept this legacy config (exit 0)".to_string());
            }
            let warned = p
                .output
                .lines()
                .any(|l| l.contains("[WARNING]") && l.contains(&ex.modern));
            if !warned {
                problems.push(format!(
                    "Pharos must print a [WARNING] line naming `{}`",
                    ex.modern
                ));
            }
            if !problems.is_empty() {
                out.push(Mismatch {
                    name: fx.name.clone(),
                    expected: format!(
                        "exception: original 1, pharos 0 + [WARNING] `{}`",
                        ex.modern
                    ),
                    original: o,
                    pharos: p,
                    note: problems.join("; "),
                });
            }
        }
    }
}

#[test]
fn haproxy_check_verdicts_match_haproxy_2_6() {
    let haproxy = require_program("haproxy");
    let fixtures = selected(fixture::haproxy());
    let exceptions = fixture::exceptions();
    assert!(
        fixtures.len() > 1 || std::env::var("PHAROS_COMPAT_FILTER").is_ok(),
        "no haproxy fixtures found"
    );
    let mut mismatches = Vec::new();
    for fx in &fixtures {
        assert_eq!(fx.kind, Kind::Haproxy);
        let (o, p) = run_pair(fx, &haproxy, "haproxy", "-c", &[]);
        let ex = exceptions.iter().find(|e| e.name == fx.name);
        compare(fx, ex, o, p, &mut mismatches);
    }
    report("haproxy -c", fixtures.len(), &mismatches);
}

#[test]
fn keepalived_config_test_verdicts_match_keepalived_2_2_7_in_netns_needs_root() {
    let keepalived = require_program("keepalived");
    assert!(
        process::is_root(),
        "the keepalived differential test needs root to create a network namespace; {INSTALL_HINT}"
    );
    let fixtures = selected(fixture::keepalived());
    assert!(
        fixtures.len() > 2 || std::env::var("PHAROS_COMPAT_FILTER").is_ok(),
        "no keepalived fixtures found"
    );
    let ns = NetNs::create().unwrap_or_else(|e| panic!("cannot set up the test namespace: {e}"));
    let wrap: Vec<String> = ["ip", "netns", "exec", ns.name()]
        .iter()
        .map(|s| s.to_string())
        .collect();
    let mut mismatches = Vec::new();
    for fx in &fixtures {
        assert_eq!(fx.kind, Kind::Keepalived);
        let (o, p) = run_pair(fx, &keepalived, "keepalived", "-t", &wrap);
        compare(fx, None, o, p, &mut mismatches);
    }
    drop(ns);
    report("keepalived -t", fixtures.len(), &mismatches);
}

/// The self-referencing definitions that make the real keepalived loop forever: Pharos must
/// reject them, quickly.
#[test]
fn keepalived_pharos_only_fixtures_are_rejected_within_5s() {
    let fixtures = fixture::keepalived_pharos_only();
    assert!(
        !fixtures.is_empty(),
        "no fixtures in fixtures/keepalived/pharos-only/"
    );
    let mut failures = Vec::new();
    for fx in &fixtures {
        let mut args = vec![
            "keepalived".to_string(),
            "-t".into(),
            "-f".into(),
            fx.file_name(),
        ];
        args.extend(fx.args.iter().cloned());
        let run = process::run(Job {
            program: &process::pharos(),
            args,
            cwd: fx.dir(),
            env: &fx.env,
            timeout: Duration::from_secs(5),
        });
        let ok = matches!(run.outcome, Outcome::Exit(c) if c != 0);
        if !ok {
            failures.push(format!(
                "{}: {} after {:?} (want a non-zero exit within 5 s)\n{}",
                fx.name,
                run.outcome,
                run.elapsed,
                tail(&run.output, 15)
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "pharos-only fixtures:\n{}",
        failures.join("\n")
    );
}

/// Every exceptions.txt entry names an existing haproxy fixture.
#[test]
fn exceptions_name_existing_fixtures() {
    let root = fixture::root();
    let stale: Vec<String> = fixture::exceptions()
        .into_iter()
        .filter(|e| !root.join(&e.name).is_file() || !e.name.starts_with("haproxy/"))
        .map(|e| e.name)
        .collect();
    assert!(
        stale.is_empty(),
        "exceptions.txt names fixtures that do not exist: {stale:?}"
    );
}
