//! haproxy 2.6's CLI help: the command lists (recorded from 2.6.12: the
//! stats socket's, the same at every level since 2.6 hides only
//! master/expert commands, and the master CLI's), `help <words>`, and the
//! "Unknown command" answers with 2.6's fuzzy suggestions (a letter-pair
//! fingerprint per word, the closest five kept).

/// A CLI's command list: `help` as 2.6.12 answers it, blank line included.
#[derive(Clone, Copy)]
pub(crate) struct Commands(&'static str);

/// The stats socket's commands.
pub(crate) const STATS: Commands = Commands(include_str!("../../../fixtures/haproxy/cli/help.txt"));

/// The master CLI's commands (`-S`).
pub(crate) const MASTER: Commands = Commands(include_str!(
    "../../../fixtures/haproxy/cli/master-help.txt"
));

/// The three lines every help answer ends with.
const TAIL: &str = "  help [<command>]                        : list matching or all commands\n  prompt                                  : toggle interactive mode with prompt\n  quit                                    : disconnect\n";

/// Most suggestions kept for a mistyped command.
const MAX_MATCHES: usize = 5;

/// One listed command: its fixed words and its usage line.
struct Entry {
    words: Vec<&'static str>,
    usage: &'static str,
}

impl Commands {
    /// The listed commands (without help/prompt/quit), in the list's order.
    fn entries(self) -> Vec<Entry> {
        self.0
            .lines()
            .skip(1)
            .filter(|l| l.starts_with("  "))
            .filter(|l| !TAIL.contains(*l))
            .map(|usage| {
                let syntax = usage.find(": ").map_or(usage, |i| &usage[..i]);
                let words = syntax
                    .split_whitespace()
                    .take_while(|w| !w.starts_with(['<', '[', '{', '(', '@']))
                    .collect();
                Entry { words, usage }
            })
            .collect()
    }

    /// Whether `args` starts with a listed command's words.
    pub(crate) fn is_listed(self, args: &[&str]) -> bool {
        self.entries()
            .iter()
            .any(|e| !e.words.is_empty() && args.starts_with(&e.words))
    }

    /// `help [words]` (`ishelp`) or the answer to an unknown command `args`.
    pub(crate) fn message(self, args: &[&str], ishelp: bool) -> String {
        let list = self.entries();
        // How many leading words some command matches exactly.
        let length = list
            .iter()
            .map(|e| {
                e.words
                    .iter()
                    .zip(args)
                    .take_while(|(w, a)| *w == *a)
                    .count()
            })
            .max()
            .unwrap_or(0);
        let mut out = String::from(if ishelp {
            "The following commands are valid at this level:\n"
        } else if length == 0 && args.first().is_none_or(|a| a.is_empty()) {
            "Unknown command. Please enter one of the following commands only:\n"
        } else {
            "Unknown command, but maybe one of the following ones is a better match:\n"
        });
        let prefix_ok = |e: &Entry| e.words.len() >= length && e.words[..length] == args[..length];
        let mut matches: Vec<(u32, &Entry)> = Vec::new();
        if args.get(length).is_some_and(|a| !a.is_empty()) {
            for e in list.iter().filter(|e| prefix_ok(e)) {
                let mut mine = Fingerprint::default();
                let mut theirs = Fingerprint::default();
                let mut total = 0;
                for a in &args[length..] {
                    mine.add(a);
                    total += a.len();
                }
                for w in &e.words[length..] {
                    theirs.add(w);
                    total += w.len();
                }
                let dist = mine.distance(&theirs);
                let worst = matches.get(MAX_MATCHES - 1).map_or(u32::MAX, |m| m.0);
                if (dist as usize) < 5 * total / 2 && dist < worst {
                    // Kept sorted by distance, earlier entries first on ties.
                    let at = matches.partition_point(|m| m.0 <= dist);
                    matches.insert(at, (dist, e));
                    matches.truncate(MAX_MATCHES);
                }
            }
        }
        let mut shown: Vec<&Entry> = match matches.first() {
            Some(&(best, _)) => matches
                .iter()
                .take_while(|m| m.0 <= 5 * best / 2)
                .map(|m| m.1)
                .collect(),
            None => list.iter().filter(|e| prefix_ok(e)).collect(),
        };
        shown.sort_by(|a, b| a.usage.cmp(b.usage));
        for e in shown {
            out.push_str(e.usage);
            out.push('\n');
        }
        out.push_str(TAIL);
        out
    }
}

/// Counts of letter pairs in words (a–z, digits as one class, the rest
/// as one class that also marks a word's start and end).
struct Fingerprint([u8; 1024]);

impl Default for Fingerprint {
    fn default() -> Self {
        Fingerprint([0; 1024])
    }
}

impl Fingerprint {
    fn add(&mut self, word: &str) {
        const EDGE: usize = 28;
        let mut from = EDGE;
        for c in word.bytes().map(|c| c.to_ascii_lowercase()) {
            let to = match c {
                b'a'..=b'z' => usize::from(c - b'a') + 1,
                b'0'..=b'9' => 27,
                _ => EDGE,
            };
            self.0[32 * from + to] = self.0[32 * from + to].saturating_add(1);
            from = to;
        }
        self.0[32 * from + EDGE] = self.0[32 * from + EDGE].saturating_add(1);
    }

    fn distance(&self, other: &Fingerprint) -> u32 {
        self.0
            .iter()
            .zip(other.0.iter())
            .map(|(a, b)| u32::from(a.abs_diff(*b)))
            .sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn help_is_the_recorded_list() {
        let h = STATS.message(&[], true);
        assert_eq!(format!("{h}\n"), STATS.0);
        assert!(STATS.is_listed(&["show", "servers", "state", "be"]));
        assert!(!STATS.is_listed(&["show", "nothing"]));
        let m = MASTER.message(&[], true);
        assert_eq!(format!("{m}\n"), MASTER.0);
        assert!(MASTER.is_listed(&["show", "proc"]));
    }

    #[test]
    fn help_narrows_to_matching_words() {
        let h = STATS.message(&["show", "servers"], true);
        assert!(h.contains("show servers state [<backend>]"));
        assert!(h.contains("show servers conn"));
        assert!(!h.contains("show stat "));
    }

    #[test]
    fn unknown_commands_get_near_matches() {
        let h = STATS.message(&["show", "servers", "stat"], false);
        assert!(h.starts_with("Unknown command, but maybe"));
        assert_eq!(h.lines().count(), 5, "{h}");
        assert!(h.contains("  show servers state [<backend>]"));
        let none = STATS.message(&[""], false);
        assert!(none.starts_with("Unknown command. Please enter"));
    }
}
