//! Conditional blocks (`.if`/`.elif`/`.else`/`.endif`, expressions in
//! `cond`) and the message directives (`.diag`, `.notice`, `.warning`,
//! `.alert`). Must not touch keyword lines, which `section` dispatches.

use super::Level;
use super::cond;
use super::section::{Line, Reader};

/// One open `.if` block.
pub(super) struct CondFrame {
    /// This branch's lines are used.
    pub active: bool,
    /// Some branch of this block was already taken.
    pub taken: bool,
    pub seen_else: bool,
    /// The enclosing block was active.
    pub parent_active: bool,
}

impl Reader<'_> {
    /// `.if`, `.elif`, `.else`, `.endif` and the message directives.
    pub(super) fn directive(
        &mut self,
        line: &Line,
        raw: &str,
        conds: &mut Vec<CondFrame>,
        active: bool,
    ) {
        let kw = line.arg(0);
        match kw {
            ".if" | ".elif" => {
                if kw == ".elif" {
                    let Some(top) = conds.last() else {
                        self.abort_tight(line, "lone '.elif' with no matching '.if'.".into());
                        return;
                    };
                    if top.seen_else {
                        self.abort_tight(line, "'.elif' after '.else' is not permitted.".into());
                        return;
                    }
                }
                let parent_active = if kw == ".if" {
                    active
                } else {
                    conds.last().is_some_and(|f| f.parent_active && !f.taken)
                };
                let value = if parent_active {
                    let expr = line.words[1..].join(" ");
                    let env = |n: &str| self.env_var(n);
                    match cond::evaluate(&expr, &env) {
                        Ok(v) => v,
                        Err(e) => {
                            let start = raw.find(kw).map(|p| p + kw.len()).unwrap_or(0);
                            let after = &raw[start..];
                            let expr_col = start + (after.len() - after.trim_start().len());
                            let caret = " ".repeat(expr_col + e.position.saturating_sub(1));
                            self.abort_tight(
                                line,
                                format!(
                                    "{} in '{}' at position {}:\n  {}\n  {}^",
                                    e.message,
                                    kw,
                                    e.position,
                                    raw.trim_end_matches('\r'),
                                    caret
                                ),
                            );
                            return;
                        }
                    }
                } else {
                    false
                };
                if kw == ".if" {
                    conds.push(CondFrame {
                        active: value,
                        taken: value,
                        seen_else: false,
                        parent_active,
                    });
                } else if let Some(top) = conds.last_mut() {
                    top.active = value && !top.taken && top.parent_active;
                    top.taken |= top.active;
                }
            }
            ".else" | ".endif" => {
                if line.len() > 1 {
                    self.alert_tight(
                        &line.loc,
                        line.span,
                        format!("Unexpected argument '{}' for '{}'.", line.arg(1), kw),
                    );
                    return;
                }
                let Some(top) = conds.last_mut() else {
                    self.abort_tight(line, format!("lone '{kw}' with no matching '.if'."));
                    return;
                };
                if kw == ".endif" {
                    conds.pop();
                } else if top.seen_else {
                    self.abort_tight(line, "'.else' after '.else' is not permitted.".into());
                } else {
                    top.seen_else = true;
                    top.active = top.parent_active && !top.taken;
                    top.taken = true;
                }
            }
            ".diag" | ".notice" | ".warning" | ".alert" => {
                if !active {
                    return;
                }
                if line.len() > 2 {
                    self.alert_tight(&line.loc, line.span, format!(
                        "Unexpected argument '{}' for '{}'. Use quotes if the message should contain spaces.",
                        line.arg(2),
                        kw
                    ));
                    return;
                }
                let text = format!("parsing [{}]: '{}'.", line.loc, line.arg(1));
                match kw {
                    ".diag" if self.opts.diagnostic => {
                        self.push(Level::Diag, Some(line.span), text)
                    }
                    ".diag" => {}
                    ".notice" => self.push(Level::Notice, Some(line.span), text),
                    ".warning" => self.push(Level::Warning, Some(line.span), text),
                    _ => {
                        self.push(Level::Alert, Some(line.span), text);
                        self.note_fatal();
                    }
                }
            }
            _ => {
                if active {
                    self.alert_tight(&line.loc, line.span, format!("unknown directive '{kw}'."));
                }
            }
        }
    }
}
