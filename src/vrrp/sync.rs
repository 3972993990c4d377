//! `vrrp_sync_group`: members move together (reference/keepalived.md §3.7).
//! A member becomes MASTER only when every member wants to (keepalived
//! prefers BACKUP to thrashing); one member falling back to BACKUP takes
//! the others with it; FAULT is shared through tracking (the driver gives
//! every member the group's verdict). Sans-IO: the group looks at its
//! members' states and answers with inputs for them.

use super::fsm::{Action, Input, State};

/// What the group needs to know of one member.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct Member {
    pub state: State,
    pub wants_master: bool,
}

/// One sync group: indexes of its member instances in the driver's list.
#[derive(Clone, Debug)]
pub struct Group {
    pub name: String,
    pub members: Vec<usize>,
    /// The group state last reported, for GROUP notifications.
    reported: Option<State>,
}

impl Group {
    /// A group over the given member indexes.
    pub fn new(name: &str, members: Vec<usize>) -> Group {
        Group {
            name: name.to_string(),
            members,
            reported: None,
        }
    }

    /// Whether instance `i` belongs to the group.
    pub fn contains(&self, i: usize) -> bool {
        self.members.contains(&i)
    }

    /// After member `m` went from `before` to its current state producing
    /// `actions`, the inputs the other members (or `m`) must receive.
    pub fn follow(
        &self,
        m: usize,
        before: State,
        actions: &[Action],
        member: impl Fn(usize) -> Member,
    ) -> Vec<(usize, Input)> {
        let now = member(m).state;
        if actions.contains(&Action::WantMaster) {
            let ready = self.members.iter().all(|&i| {
                let x = member(i);
                x.state == State::Master || x.wants_master
            });
            if !ready {
                return Vec::new();
            }
            return self
                .members
                .iter()
                .filter(|&&i| member(i).state == State::Backup)
                .map(|&i| (i, Input::SyncMaster))
                .collect();
        }
        if before == State::Master && now == State::Backup {
            return self
                .members
                .iter()
                .filter(|&&i| i != m && member(i).state == State::Master)
                .map(|&i| (i, Input::SyncBackup))
                .collect();
        }
        Vec::new()
    }

    /// The group's state when it has changed since the last call: FAULT if
    /// any member is, MASTER or STOP when all are, BACKUP when some member is
    /// and none is in FAULT.
    pub fn settle(&mut self, states: impl IntoIterator<Item = State>) -> Option<State> {
        let states: Vec<State> = states.into_iter().collect();
        let now = if states.contains(&State::Fault) {
            State::Fault
        } else if states.iter().all(|s| *s == State::Master) {
            State::Master
        } else if states.iter().all(|s| *s == State::Stop) {
            State::Stop
        } else if states.contains(&State::Backup) {
            State::Backup
        } else {
            return None;
        };
        if self.reported == Some(now) {
            return None;
        }
        self.reported = Some(now);
        Some(now)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vrrp::fsm::{Config, Instance, Instant};
    use std::net::{IpAddr, Ipv4Addr};

    fn member(vrid: u8) -> Instance {
        let addr = IpAddr::V4(Ipv4Addr::new(198, 51, 100, 1));
        Instance::new(Config {
            synced: true,
            ..Config::example(vrid, 100, addr)
        })
    }

    /// Feeds `input` to node `i` and everything the group asks in turn.
    fn feed(nodes: &mut [Instance], g: &Group, i: usize, at: Instant, input: Input) {
        let mut queue = vec![(i, input)];
        while let Some((i, input)) = queue.pop() {
            let before = nodes[i].state();
            let mut out = Vec::new();
            nodes[i].handle(at, input, &mut out);
            let view = |j: usize| Member {
                state: nodes[j].state(),
                wants_master: nodes[j].wants_master(),
            };
            queue.extend(g.follow(i, before, &out, view));
        }
    }

    #[test]
    fn master_only_when_every_member_wants_it() {
        let mut nodes = vec![member(1), member(2)];
        let mut g = Group::new("VG1", vec![0, 1]);
        for i in 0..2 {
            feed(&mut nodes, &g, i, Instant(0), Input::Startup);
        }
        assert_eq!(
            g.settle(nodes.iter().map(Instance::state)),
            Some(State::Backup)
        );
        // Member 0's down timer runs out; member 1 still hears its master.
        let t = nodes[0].deadline().expect("down timer");
        feed(&mut nodes, &g, 0, t, Input::Timer);
        assert_eq!(nodes[0].state(), State::Backup);
        assert!(nodes[0].wants_master());
        let heard = Input::Advert {
            from: IpAddr::V4(Ipv4Addr::new(198, 51, 100, 9)),
            priority: 200,
            interval_centis: 100,
        };
        feed(&mut nodes, &g, 1, t, heard);
        assert_eq!(
            nodes[0].state(),
            State::Backup,
            "prefer BACKUP to thrashing"
        );
        // Now member 1's master is gone too: both go MASTER together.
        let t = nodes[1].deadline().expect("down timer");
        feed(&mut nodes, &g, 1, t, Input::Timer);
        assert_eq!(
            (nodes[0].state(), nodes[1].state()),
            (State::Master, State::Master)
        );
        assert_eq!(
            g.settle(nodes.iter().map(Instance::state)),
            Some(State::Master)
        );
        assert_eq!(g.settle(nodes.iter().map(Instance::state)), None);
        // A higher-priority advert for member 1 takes member 0 down as well.
        let higher = Input::Advert {
            from: IpAddr::V4(Ipv4Addr::new(198, 51, 100, 9)),
            priority: 200,
            interval_centis: 100,
        };
        feed(&mut nodes, &g, 1, t, higher);
        assert_eq!(
            (nodes[0].state(), nodes[1].state()),
            (State::Backup, State::Backup)
        );
        assert_eq!(
            g.settle(nodes.iter().map(Instance::state)),
            Some(State::Backup)
        );
    }
}
