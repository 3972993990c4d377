//! ACLs, conditions and the rule lists (`http-request`, `http-response`,
//! `tcp-request`, `use_backend`). Sample expressions stay as text: the proxy
//! runtime compiles them.

use serde::Serialize;

/// `acl <name> <fetch> [flags] [operator] <patterns…>`, or an anonymous
/// ACL written `{ … }` inside a condition.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Acl {
    /// Empty for an anonymous ACL.
    pub name: String,
    pub line: u32,
    /// The sample fetch with its arguments and converters (`path_beg`,
    /// `hdr(host),lower`).
    pub fetch: String,
    /// `-i`.
    pub ignore_case: bool,
    /// `-m <method>`.
    pub match_method: Option<String>,
    /// `-f <file>` pattern files.
    pub pattern_files: Vec<String>,
    /// `-M` (files are maps), `-n` (no DNS), `-u <id>`.
    pub other_flags: Vec<String>,
    /// Patterns (after `--` if present).
    pub patterns: Vec<String>,
}

/// `if|unless <terms>`: OR of AND groups of (possibly negated) ACL terms.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Condition {
    /// `unless`.
    pub negate: bool,
    pub any_of: Vec<Vec<CondTerm>>,
}

/// One ACL reference in a condition.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct CondTerm {
    /// `!`.
    pub negate: bool,
    pub acl: AclRef,
}

/// A named ACL (possibly predefined, like `TRUE`) or an anonymous one.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "kind", content = "acl")]
pub enum AclRef {
    Named(String),
    Anonymous(Box<Acl>),
}

/// `use_backend <name> [cond]` (also `use-server`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct UseBackend {
    pub line: u32,
    /// A name, or a log-format expression when it contains `%[`.
    pub target: String,
    pub dynamic: bool,
    pub cond: Option<Condition>,
}

/// One `http-request`/`http-response` rule.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct HttpRule {
    pub line: u32,
    pub action: HttpAction,
    pub cond: Option<Condition>,
}

/// How `del-header` matches names.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum NameMatch {
    /// Exact, case-insensitive (HTTP header names).
    #[default]
    Str,
    Beg,
    End,
    Sub,
    /// Regular expression on the name.
    Reg,
}

/// HTTP rule actions.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "action")]
pub enum HttpAction {
    Allow,
    Deny {
        status: Option<u16>,
        /// `errorfile`/`errorfiles`/`content-type…`: the rest, word for word.
        response: Vec<String>,
    },
    Tarpit {
        status: Option<u16>,
    },
    Auth {
        realm: Option<String>,
    },
    Redirect(Redirect),
    Return(Return),
    SetHeader {
        name: String,
        value: String,
    },
    AddHeader {
        name: String,
        value: String,
    },
    DelHeader {
        name: String,
        matching: NameMatch,
    },
    ReplaceHeader {
        name: String,
        regex: String,
        replace: String,
    },
    ReplaceValue {
        name: String,
        regex: String,
        replace: String,
    },
    SetPath {
        format: String,
    },
    SetPathq {
        format: String,
    },
    SetUri {
        format: String,
    },
    SetQuery {
        format: String,
    },
    SetMethod {
        format: String,
    },
    ReplacePath {
        regex: String,
        replace: String,
    },
    ReplacePathq {
        regex: String,
        replace: String,
    },
    ReplaceUri {
        regex: String,
        replace: String,
    },
    SetStatus {
        status: u16,
        reason: Option<String>,
    },
    /// Legacy `reqrep`/`rsprep` whose regex targets the start line, or that
    /// cannot be narrowed to one header: applied to every line of the head.
    ReplaceLine {
        regex: String,
        replace: String,
        ignore_case: bool,
    },
    /// Legacy `reqdel`/`rspdel` whose regex cannot be narrowed to a header
    /// name: delete every header line matching the regex.
    DelHeaderLine {
        regex: String,
        ignore_case: bool,
    },
    /// Actions accepted but not active yet (`set-var`, `track-sc0`, `lua.*`…).
    Other {
        name: String,
        args: Vec<String>,
    },
}

/// `redirect location|prefix|scheme <to> [code N] [options]`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Redirect {
    /// `location`, `prefix` or `scheme`.
    pub kind: String,
    pub to: String,
    /// 301, 302 (default), 303, 307, 308.
    pub code: u16,
    pub drop_query: bool,
    pub append_slash: bool,
    pub set_cookie: Option<String>,
    pub clear_cookie: Option<String>,
}

/// `return [status N] [content-type T] [string|lf-string|file|lf-file X] [hdr N V]*`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Return {
    pub status: u16,
    pub content_type: Option<String>,
    /// (`string`|`lf-string`|`file`|`lf-file`|`errorfile`|`errorfiles`, value).
    pub body: Option<(String, String)>,
    pub headers: Vec<(String, String)>,
}

/// One `tcp-request` rule.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct TcpRule {
    pub line: u32,
    pub action: TcpAction,
    pub cond: Option<Condition>,
}

/// TCP rule actions.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "action")]
pub enum TcpAction {
    Accept,
    Reject,
    /// Accepted, not active yet.
    Other {
        name: String,
        args: Vec<String>,
    },
}
