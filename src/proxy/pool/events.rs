//! haproxy's lines for a server changing state, on stderr (through the
//! pool's `say`) and to the backend's log targets: a check's UP/DOWN, the
//! end of a slowstart, and the admin changes of the stats socket and page
//! (maintenance, drain), worded and leveled as 2.6 words and levels them.

use super::{DRAIN, Level, MAINT, Pool};
use crate::daemon::syslog::Severity;
use std::sync::atomic::Ordering;

impl Pool {
    /// Usable servers (up, neither in maintenance nor draining): active
    /// and backup.
    fn usable_counts(&self) -> (usize, usize) {
        let count = |backup: bool| {
            self.members
                .iter()
                .filter(|m| {
                    m.backup == backup
                        && m.up.load(Ordering::Relaxed)
                        && m.admin.load(Ordering::Relaxed) == 0
                })
                .count()
        };
        (count(false), count(true))
    }

    /// Sends a line: `logged` to the log at `severity`, `told` on stderr.
    fn tell(&self, level: Level, severity: Severity, logged: &str, told: String) {
        if let Some(log) = &self.log {
            log.send(severity, logged);
        }
        if let Some(say) = self.say.get() {
            say(level, told);
        }
    }

    /// The emergency line when no server is left.
    fn none_left(&self) {
        let (active, backup) = self.usable_counts();
        if active + backup == 0 {
            // The log names the proxy without the quotes of stderr.
            self.tell(
                Level::Alert,
                Severity::Emerg,
                &format!("{} {} has no server available!", self.kind, self.name),
                format!("{} '{}' has no server available!", self.kind, self.name),
            );
        }
    }

    /// A line at `severity` in the log and as a warning on stderr.
    fn warn(&self, severity: Severity, text: String) {
        self.tell(Level::Warning, severity, &text, text.clone());
    }

    /// haproxy's lines for a server changing state: on stderr through
    /// `say`, and to the backend's log targets.
    /// (`why` None: the end of a slowstart, worded without a reason.)
    pub(super) fn announce(&self, i: usize, up: bool, why: Option<&str>) {
        let (active, backup) = self.usable_counts();
        let who = format!("{}/{}", self.name, self.members[i].name);
        let why = why.map(|w| format!(", {w}")).unwrap_or_default();
        if up {
            self.warn(
                Severity::Notice,
                format!(
                    "Server {who} is UP{why}. {active} active and {backup} backup servers online. 0 sessions requeued, 0 total in queue."
                ),
            );
        } else {
            self.warn(
                Severity::Alert,
                format!(
                    "Server {who} is DOWN{why}. {active} active and {backup} backup servers left. 0 sessions active, 0 requeued, 0 remaining in queue."
                ),
            );
            self.none_left();
        }
    }

    /// The lines of an admin change of server `i` from bits `was` to `now`.
    pub(super) fn announce_admin(&self, i: usize, was: u8, now: u8) {
        let who = format!("{}/{}", self.name, self.members[i].name);
        let up = self.members[i].up.load(Ordering::Relaxed);
        let (active, backup) = self.usable_counts();
        let left = format!(
            "{active} active and {backup} backup servers left. 0 sessions active, 0 requeued, 0 remaining in queue."
        );
        let online = format!(
            "{active} active and {backup} backup servers online. 0 sessions requeued, 0 total in queue."
        );
        let into_maint = was & MAINT == 0 && now & MAINT != 0;
        let out_of_maint = was & MAINT != 0 && now & MAINT == 0;
        if into_maint {
            if !up {
                self.warn(
                    Severity::Notice,
                    format!("Server {who} was DOWN and now enters maintenance."),
                );
                return;
            }
            // A serving server going down is an alert; a draining one
            // was not serving new traffic.
            let severity = if was & DRAIN == 0 {
                Severity::Alert
            } else {
                Severity::Notice
            };
            self.warn(
                severity,
                format!("Server {who} is going DOWN for maintenance. {left}"),
            );
            if was & DRAIN == 0 {
                self.none_left();
            }
        } else if out_of_maint {
            let state = if now & DRAIN != 0 { "DRAIN" } else { "READY" };
            self.warn(
                Severity::Notice,
                format!("Server {who} is UP/{state} (leaving forced maintenance)."),
            );
            if now & DRAIN != 0 {
                self.warn(
                    Severity::Notice,
                    format!("Server {who} remains in forced drain mode."),
                );
            }
        } else if was & DRAIN == 0 && now & DRAIN != 0 {
            self.warn(
                Severity::Notice,
                format!("Server {who} enters drain state. {online}"),
            );
            self.none_left();
        } else if was & DRAIN != 0 && now & DRAIN == 0 {
            let state = if up { "UP" } else { "DOWN" };
            self.warn(
                Severity::Notice,
                format!("Server {who} is {state} (leaving forced drain)."),
            );
        }
    }
}
