//! Health checks shared by haproxy servers and (later) keepalived real
//! servers: the rise/fall arithmetic (sans-IO, `Health`) and the probes
//! that go on the wire (`probe`). reference/haproxy.md §2.6.

pub mod probe;

use crate::model::HealthCheck;
use std::time::Duration;

/// haproxy's check state of one server: `health` runs from 0 to
/// `rise + fall - 1`; the server is UP while `health >= rise`. It starts at
/// `rise` — UP, but down on the first failure.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Health {
    rise: u32,
    fall: u32,
    health: u32,
}

impl Health {
    /// A server that has not been checked yet.
    pub fn new(rise: u32, fall: u32) -> Health {
        let (rise, fall) = (rise.max(1), fall.max(1));
        Health {
            rise,
            fall,
            health: rise,
        }
    }

    /// The counter, 0 ..= rise + fall - 1 (the stats' `check_health`).
    pub fn health(&self) -> u32 {
        self.health
    }

    /// UP or DOWN.
    pub fn is_up(&self) -> bool {
        self.health >= self.rise
    }

    fn top(&self) -> u32 {
        self.rise + self.fall - 1
    }

    /// One check result; `Some(up)` when the server changes state.
    pub fn result(&mut self, ok: bool) -> Option<bool> {
        let was = self.is_up();
        if ok {
            if self.health < self.top() {
                self.health += 1;
                if self.health >= self.rise {
                    self.health = self.top();
                }
            }
        } else if self.health > 0 {
            self.health -= 1;
            if self.health < self.rise {
                self.health = 0;
            }
        }
        (self.is_up() != was).then_some(self.is_up())
    }

    /// The stats page's words: `UP`, `DOWN`, `UP 1/3` (going down), `DOWN
    /// 1/2` (going up).
    pub fn status(&self) -> String {
        status_words(self.health, self.rise, self.fall)
    }

    /// The wait before the next check: `inter` when fully UP, `downinter`
    /// when fully DOWN, `fastinter` in between (each falls back to `inter`).
    pub fn next_interval(&self, hc: &HealthCheck) -> Duration {
        let inter = hc.interval.to_std();
        let pick = |d: Option<crate::model::Duration>| d.map_or(inter, |d| d.to_std());
        if self.health == self.top() {
            inter
        } else if self.health == 0 {
            pick(hc.down_interval)
        } else {
            pick(hc.fast_interval)
        }
    }
}

/// The stats' status for a check counter: `UP`, `DOWN`, `UP 1/3` (going
/// down), `DOWN 1/2` (going up).
pub fn status_words(health: u32, rise: u32, fall: u32) -> String {
    let top = rise + fall - 1;
    if health >= top {
        "UP".into()
    } else if health == 0 {
        "DOWN".into()
    } else if health >= rise {
        format!("UP {}/{}", top - health, fall)
    } else {
        format!("DOWN {health}/{rise}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn haproxy_rise_and_fall() {
        // rise 2 fall 3: UP at start, DOWN on the first failure.
        let mut h = Health::new(2, 3);
        assert!(h.is_up());
        assert_eq!(h.result(false), Some(false));
        assert_eq!(h.status(), "DOWN");
        // Two successes to come up, then fully UP.
        assert_eq!(h.result(true), None);
        assert_eq!(h.status(), "DOWN 1/2");
        assert_eq!(h.result(true), Some(true));
        assert_eq!(h.status(), "UP");
        // Three failures to go down; one success in between restores it.
        assert_eq!(h.result(false), None);
        assert_eq!(h.status(), "UP 1/3");
        assert_eq!(h.result(true), None);
        assert_eq!(h.status(), "UP");
        assert_eq!((h.result(false), h.result(false)), (None, None));
        assert_eq!(h.result(false), Some(false));
        // A failure while going up resets the progress.
        assert_eq!(h.result(true), None);
        assert_eq!(h.result(false), None);
        assert_eq!(h.status(), "DOWN");
    }
}
