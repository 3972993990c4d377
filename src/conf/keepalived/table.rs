//! Keyword tables: what each block of keepalived.conf accepts and how each
//! keyword's words are checked. The tables themselves are in `keywords`;
//! `parse` walks them; `lower` reads the validated [`Node`]s.

use super::ErrClass;
use crate::conf::Span;
use crate::model::common::{Duration, Script};
use serde::Serialize;
use std::net::IpAddr;

/// One keyword of a block.
#[derive(Debug)]
pub struct Keyword {
    pub name: &'static str,
    /// The name `lower` sees: itself, or the keyword this one is an alias of
    /// (`lb_algo` → `lvs_sched`).
    pub canonical: &'static str,
    pub kind: Kind,
    /// How the words after the keyword are checked and turned into a value.
    pub check: Check,
    /// `Some(message)` when keepalived reports this keyword as deprecated
    /// (the keyword still takes effect); the class is in `deprecated_class`.
    pub deprecated: Option<&'static str>,
    pub deprecated_class: ErrClass,
}

/// What follows a keyword.
#[derive(Debug)]
pub enum Kind {
    /// Just the line.
    Line,
    /// A block of keywords: `NAME … {` then keyword lines then `}`.
    Block(&'static [Keyword]),
    /// A block of values, one entry per line (`virtual_ipaddress { … }`).
    Values,
}

/// How the words after a keyword are checked.
#[derive(Debug)]
pub enum Check {
    /// Nothing required; extra words ignored.
    None,
    /// Optional `on|off|true|false|yes|no`; no word = true.
    OptBool,
    /// Required boolean word.
    Bool,
    /// Required integer in `[min, max]` (base 10).
    Int { min: i64, max: i64 },
    /// Optional integer in `[min, max]`; no word = `default`.
    OptInt { min: i64, max: i64, default: i64 },
    /// Decimal seconds (≤ 6 fractional digits) in `[min, max]` µs.
    Secs { min: u64, max: u64 },
    /// One word required.
    Word,
    /// Optional one word.
    OptWord,
    /// Any number of words, kept as they are.
    Words,
    /// At least one word.
    Words1,
    /// One of these words (case-sensitive).
    OneOf(&'static [&'static str]),
    /// An IPv4/IPv6 address.
    Ip,
    /// A script line: `COMMAND [USER [GROUP]]` with keepalived's quoting.
    Script,
    /// Checked by a function of its own (messages that are the keyword's own).
    Custom(fn(&[String], &mut CheckCtx<'_>) -> Value),
    /// As `Custom`, but a missing value aborts the read as keepalived does.
    Custom1(fn(&[String], &mut CheckCtx<'_>) -> Value),
}

/// The result of checking a keyword's words.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "snake_case", tag = "t", content = "v")]
pub enum Value {
    /// A keyword with no value (flags, blocks).
    Flag,
    Bool(bool),
    Int(i64),
    Secs(Duration),
    Word(String),
    Words(Vec<String>),
    Ip(IpAddr),
    Script(Script),
    /// The words were rejected (a diagnostic was reported): lowering keeps
    /// the default, as keepalived ignores the keyword.
    Invalid,
}

impl Value {
    /// The integer, if this is one.
    pub fn int(&self) -> Option<i64> {
        match self {
            Value::Int(n) => Some(*n),
            _ => None,
        }
    }

    /// The boolean, if this is one (a bare flag counts as true).
    pub fn bool(&self) -> Option<bool> {
        match self {
            Value::Bool(b) => Some(*b),
            Value::Flag => Some(true),
            _ => None,
        }
    }

    /// The word, if this is one word.
    pub fn word(&self) -> Option<&str> {
        match self {
            Value::Word(w) => Some(w),
            _ => None,
        }
    }

    /// The duration, if this is one.
    pub fn secs(&self) -> Option<Duration> {
        match self {
            Value::Secs(d) => Some(*d),
            _ => None,
        }
    }
}

/// Where a check reports: the diagnostics list and the keyword's position.
pub struct CheckCtx<'a> {
    pub diags: &'a mut Vec<crate::conf::Diagnostic<ErrClass>>,
    pub at: Span,
    /// The raw logical line (script keywords re-split it with their own quoting).
    pub raw: &'a str,
    /// The name of the enclosing block (`VI_1` in `vrrp_instance VI_1`),
    /// for messages such as `(VI_1) Priority not valid!`.
    pub owner: &'a str,
}

impl CheckCtx<'_> {
    /// Reports a message of class `kind` at the keyword's line.
    pub fn report(&mut self, kind: ErrClass, message: impl Into<String>) {
        self.diags.push(crate::conf::Diagnostic {
            kind,
            at: Some(self.at),
            message: message.into(),
        });
    }
}

/// A keyword occurrence after checking: the tree `lower` consumes.
#[derive(Clone, Debug, Serialize)]
pub struct Node {
    pub name: &'static str,
    /// The words after the keyword (the keyword itself excluded).
    pub args: Vec<String>,
    pub value: Value,
    pub at: Span,
    /// Keyword blocks: the keywords inside, in order.
    pub children: Vec<Node>,
    /// Value blocks: one entry per line.
    pub entries: Vec<Entry>,
}

impl Node {
    /// Children named `name`, in order.
    pub fn all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a Node> + 'a {
        self.children.iter().filter(move |c| c.name == name)
    }

    /// The last child named `name` (keepalived: a later line overrides).
    pub fn last(&self, name: &str) -> Option<&Node> {
        self.children.iter().rev().find(|c| c.name == name)
    }
}

/// One line of a value block.
#[derive(Clone, Debug, Serialize)]
pub struct Entry {
    pub words: Vec<String>,
    pub at: Span,
}

/// Shorthand for table rows: a plain line keyword.
pub const fn line(name: &'static str, check: Check) -> Keyword {
    Keyword {
        name,
        canonical: name,
        kind: Kind::Line,
        check,
        deprecated: None,
        deprecated_class: ErrClass::Deprecated,
    }
}

/// A keyword block whose header words are checked by `check`.
pub const fn block(name: &'static str, check: Check, table: &'static [Keyword]) -> Keyword {
    Keyword {
        name,
        canonical: name,
        kind: Kind::Block(table),
        check,
        deprecated: None,
        deprecated_class: ErrClass::Deprecated,
    }
}

/// A value block (one entry per line).
pub const fn values(name: &'static str, check: Check) -> Keyword {
    Keyword {
        name,
        canonical: name,
        kind: Kind::Values,
        check,
        deprecated: None,
        deprecated_class: ErrClass::Deprecated,
    }
}

impl Keyword {
    /// Makes this keyword an alias: its nodes carry `canonical`'s name.
    pub const fn alias_of(mut self, canonical: &'static str) -> Keyword {
        self.canonical = canonical;
        self
    }

    /// Marks the keyword as deprecated: `message` is reported with `class`
    /// each time it is used, and the keyword still takes effect.
    pub const fn deprecated(mut self, message: &'static str, class: ErrClass) -> Keyword {
        self.deprecated = Some(message);
        self.deprecated_class = class;
        self
    }
}
