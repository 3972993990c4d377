//! Walks logical lines against the keyword tables and builds the checked
//! node tree. Reproduces keepalived's block matching, including the
//! unknown-keyword recovery quirk: an unknown keyword that opens a block
//! does not open one, so its lines are read as keywords of the enclosing
//! block and its `}` closes the enclosing block.

use super::read::{Line, split_words};
use super::table::{Check, CheckCtx, Entry, Keyword, Kind, Node, Value};
use super::{ErrClass, KaDiagnostic, keywords, values};
use crate::conf::{Diagnostic, Span};
use crate::model::common::Script;

/// Receives each root-level block or line as soon as it is complete.
pub type Sink<'s> = dyn FnMut(Node, &mut Vec<KaDiagnostic>) + 's;

struct Walker<'a, 's> {
    lines: &'a [Line],
    pos: usize,
    diags: &'a mut Vec<KaDiagnostic>,
    aborted: bool,
    /// Where root nodes go.
    sink: &'a mut Sink<'s>,
}

/// Parses the logical lines from `read` against the keyword tables and
/// hands each root node to `sink` as soon as it is complete, so a large
/// configuration never exists as a whole tree (and the sink's messages
/// follow the block's own, as keepalived prints them).
/// Returns whether keepalived would have aborted (missing parameter).
pub fn parse_each(lines: &[Line], diags: &mut Vec<KaDiagnostic>, sink: &mut Sink<'_>) -> bool {
    let mut w = Walker {
        lines,
        pos: 0,
        diags,
        aborted: false,
        sink,
    };
    w.block(keywords::ROOT, 0, "");
    w.aborted
}

impl Walker<'_, '_> {
    fn report(&mut self, kind: ErrClass, at: Span, message: impl Into<String>) {
        self.diags.push(Diagnostic {
            kind,
            at: Some(at),
            message: message.into(),
        });
    }

    /// Reads keyword lines until the `}` closing this level (or EOF).
    fn block(&mut self, table: &'static [Keyword], level: usize, owner: &str) -> Vec<Node> {
        let mut nodes = Vec::new();
        while let Some(line) = self.lines.get(self.pos) {
            if self.aborted {
                break;
            }
            self.pos += 1;
            let words = line.words();
            let Some(first) = words.first() else { continue };
            match first.as_str() {
                "}" if level > 0 => return nodes,
                "{" => {
                    self.report(
                        ErrClass::UnexpectedBob,
                        line.at,
                        "Unexpected '{' - ignoring",
                    );
                    continue;
                }
                _ => {}
            }
            let Some(kw) = table.iter().find(|k| k.name == first) else {
                self.report(
                    ErrClass::UnknownKeyword,
                    line.at,
                    format!("Unknown keyword '{first}'"),
                );
                continue;
            };
            if let Some(node) = self.keyword(kw, line, words, level, owner) {
                if level == 0 {
                    (self.sink)(node, self.diags);
                } else {
                    nodes.push(node);
                }
            }
        }
        nodes
    }

    fn keyword(
        &mut self,
        kw: &'static Keyword,
        line: &Line,
        mut words: Vec<String>,
        level: usize,
        owner: &str,
    ) -> Option<Node> {
        words.remove(0);
        let args = words;
        if let Some(message) = kw.deprecated {
            self.report(
                kw.deprecated_class,
                line.at,
                message.replace("{owner}", owner),
            );
        }
        let value = {
            let mut ctx = CheckCtx {
                diags: self.diags,
                at: line.at,
                raw: &line.text,
                owner,
            };
            match check(&kw.check, kw.name, &args, &mut ctx) {
                Some(v) => v,
                None => {
                    self.aborted = true;
                    return None;
                }
            }
        };
        let mut node = Node {
            name: kw.canonical,
            args,
            value,
            at: line.at,
            children: Vec::new(),
            entries: Vec::new(),
        };
        match kw.kind {
            Kind::Line => {}
            Kind::Block(table) => {
                if self.open_brace(line.at) {
                    let name = node.args.first().cloned().unwrap_or_default();
                    node.children = self.block(table, level + 1, &name);
                }
            }
            Kind::Values => {
                if self.open_brace(line.at) {
                    node.entries = self.value_entries();
                }
            }
        }
        Some(node)
    }

    /// Consumes the `{` that must follow a block keyword.
    fn open_brace(&mut self, at: Span) -> bool {
        match self.lines.get(self.pos) {
            Some(l) if l.text == "{" => {
                self.pos += 1;
                true
            }
            next => {
                // keepalived reports it where the `{` was expected.
                let at = next.map_or(at, |l| l.at);
                self.report(
                    ErrClass::MissingBob,
                    at,
                    "Missing '{' at beginning of configuration block",
                );
                false
            }
        }
    }

    /// One entry per line until `}` (value blocks).
    fn value_entries(&mut self) -> Vec<Entry> {
        let mut entries = Vec::new();
        while let Some(line) = self.lines.get(self.pos) {
            self.pos += 1;
            match line.text.as_str() {
                "}" => break,
                "{" => continue,
                _ => entries.push(Entry {
                    words: split_words(&line.text),
                    at: line.at,
                }),
            }
        }
        entries
    }
}

/// The message keepalived prints before exiting on a missing value.
fn missing_parameter(keyword: &str, ctx: &mut CheckCtx<'_>) {
    ctx.report(
        ErrClass::MissingParameter,
        format!(
            "*** Configuration line starting `{keyword}` is missing a parameter after keyword `{keyword}` at word position 2"
        ),
    );
}

/// Applies a keyword's check to its words. `None` = keepalived aborts the
/// read (missing parameter).
fn check(c: &Check, keyword: &str, args: &[String], ctx: &mut CheckCtx<'_>) -> Option<Value> {
    let first = args.first().map(String::as_str);
    let needs_word = matches!(
        c,
        Check::Bool
            | Check::Int { .. }
            | Check::Secs { .. }
            | Check::Word
            | Check::Words1
            | Check::OneOf(_)
            | Check::Ip
            | Check::Script
            | Check::Custom1(_)
    );
    if needs_word && first.is_none() {
        missing_parameter(keyword, ctx);
        return None;
    }
    let word = first.unwrap_or("");
    Some(match c {
        Check::None => Value::Flag,
        Check::OptBool => match first {
            None => Value::Bool(true),
            Some(w) => match values::boolean(w) {
                Some(b) => Value::Bool(b),
                None => {
                    let block = if ctx.owner.is_empty() {
                        String::new()
                    } else {
                        format!("{} ", ctx.owner)
                    };
                    ctx.report(
                        ErrClass::GeneralError,
                        format!("Invalid {block}{keyword} parameter {w}"),
                    );
                    Value::Invalid
                }
            },
        },
        Check::Bool => match values::boolean(word) {
            Some(b) => Value::Bool(b),
            None => {
                ctx.report(
                    ErrClass::GeneralError,
                    format!("Invalid {keyword} parameter {word}"),
                );
                Value::Invalid
            }
        },
        Check::Int { min, max } => {
            values::int(word, *min, *max, ctx).map_or(Value::Invalid, Value::Int)
        }
        Check::OptInt { min, max, default } => match first {
            None => Value::Int(*default),
            Some(w) => values::int(w, *min, *max, ctx).map_or(Value::Invalid, Value::Int),
        },
        Check::Secs { min, max } => {
            values::secs(word, *min, *max, ctx).map_or(Value::Invalid, Value::Secs)
        }
        Check::Word => Value::Word(word.to_string()),
        Check::OptWord => first.map_or(Value::Flag, |w| Value::Word(w.to_string())),
        Check::Words | Check::Words1 => Value::Words(args.to_vec()),
        Check::OneOf(options) => {
            if options.contains(&word) {
                Value::Word(word.to_string())
            } else {
                ctx.report(
                    ErrClass::GeneralError,
                    format!("Unknown {keyword} value '{word}'"),
                );
                Value::Invalid
            }
        }
        Check::Ip => match values::ip(word) {
            Some(ip) => Value::Ip(ip),
            None => {
                ctx.report(
                    ErrClass::GeneralError,
                    format!("Invalid {keyword} address '{word}' - ignoring"),
                );
                Value::Invalid
            }
        },
        Check::Script => {
            let raw = ctx.raw.to_string();
            match script(&raw) {
                Some(s) => Value::Script(s),
                None => {
                    missing_parameter(keyword, ctx);
                    return None;
                }
            }
        }
        Check::Custom(f) | Check::Custom1(f) => f(args, ctx),
    })
}

/// Splits a script keyword's raw line: level 1 groups with `"` and `'`
/// (quotes may sit mid-word); level 2 splits COMMAND into argv with escapes.
pub fn script(raw: &str) -> Option<Script> {
    let level1 = split_quoted(raw, false);
    let command = level1.get(1)?;
    Some(Script {
        argv: split_quoted(command, true),
        user: level1.get(2).cloned(),
        group: level1.get(3).cloned(),
    })
}

/// `alloc_strvec_quoted[_escaped]`: whitespace separates, `'`/`"` group,
/// and with `escapes` the C escapes are processed (a `\t` separates too).
pub fn split_quoted(text: &str, escapes: bool) -> Vec<String> {
    let mut words = Vec::new();
    let mut cur = String::new();
    let mut in_word = false;
    let mut quote: Option<char> = None;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if let Some(q) = quote {
            if c == q {
                quote = None;
            } else if escapes && c == '\\' {
                cur.push_str(&unescape(&mut chars));
            } else {
                cur.push(c);
            }
            continue;
        }
        match c {
            '"' | '\'' => {
                quote = Some(c);
                in_word = true;
            }
            c if c.is_ascii_whitespace() => {
                if in_word {
                    words.push(std::mem::take(&mut cur));
                    in_word = false;
                }
            }
            '\\' if escapes => {
                let e = unescape(&mut chars);
                if e.chars().all(|c| c.is_ascii_whitespace()) && !e.is_empty() {
                    if in_word {
                        words.push(std::mem::take(&mut cur));
                        in_word = false;
                    }
                } else {
                    cur.push_str(&e);
                    in_word = true;
                }
            }
            _ => {
                cur.push(c);
                in_word = true;
            }
        }
    }
    if in_word {
        words.push(cur);
    }
    words
}

/// One escape after a backslash: `\a \b \E \f \n \r \t \v \nnn \xHH \cC \C`.
fn unescape(chars: &mut std::iter::Peekable<std::str::Chars<'_>>) -> String {
    let Some(c) = chars.next() else {
        return "\\".into();
    };
    let code = |n: u32| char::from_u32(n).map(String::from).unwrap_or_default();
    match c {
        'a' => "\x07".into(),
        'b' => "\x08".into(),
        'E' => "\x1b".into(),
        'f' => "\x0c".into(),
        'n' => "\n".into(),
        'r' => "\r".into(),
        't' => "\t".into(),
        'v' => "\x0b".into(),
        '0'..='7' => {
            let mut n = c.to_digit(8).unwrap_or(0);
            for _ in 0..2 {
                match chars.peek().and_then(|d| d.to_digit(8)) {
                    Some(d) => {
                        n = n * 8 + d;
                        chars.next();
                    }
                    None => break,
                }
            }
            code(n & 0xff)
        }
        'x' => {
            let mut n = 0;
            for _ in 0..2 {
                match chars.peek().and_then(|d| d.to_digit(16)) {
                    Some(d) => {
                        n = n * 16 + d;
                        chars.next();
                    }
                    None => break,
                }
            }
            code(n)
        }
        'c' => chars
            .next()
            .map(|k| code(u32::from(k) & 0x1f))
            .unwrap_or_default(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn script_argv_like_keepalived() {
        let s = script(r#"notify "/x/notify.sh 'a b' \x41\t#x""#).expect("script");
        assert_eq!(s.argv, ["/x/notify.sh", "a b", "A", "#x"]);
        let s = script(r#"notify_master "/bin/true" root wheel"#).expect("script");
        assert_eq!(s.argv, ["/bin/true"]);
        assert_eq!(s.user.as_deref(), Some("root"));
        assert_eq!(s.group.as_deref(), Some("wheel"));
        assert_eq!(
            split_quoted(r#"abcd" efg h "mnop"#, false),
            ["abcd efg h mnop"]
        );
    }
}
