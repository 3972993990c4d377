//! `userlist` sections: groups and users (crypt or insecure passwords)
//! for HTTP basic authentication.

use super::section::{Line, Reader};

impl Reader<'_> {
    pub(super) fn userlist_keyword(&mut self, idx: usize, line: &Line) {
        use crate::model::haproxy::{Password, User, UserGroup};
        let split = |s: &str| -> Vec<String> {
            s.split(',')
                .filter(|x| !x.is_empty())
                .map(str::to_string)
                .collect()
        };
        let Some(ul) = self.cfg.userlists.get_mut(idx) else {
            return;
        };
        match line.arg(0) {
            "group" => {
                if line.len() < 2 {
                    self.alert(
                        &line.loc,
                        line.span,
                        "'group' expects <name> as arguments.".into(),
                    );
                    return;
                }
                let users = if line.arg(2) == "users" {
                    split(line.arg(3))
                } else {
                    Vec::new()
                };
                ul.groups.push(UserGroup {
                    name: line.arg(1).to_string(),
                    users,
                });
            }
            "user" => {
                if line.len() < 2 {
                    self.alert(
                        &line.loc,
                        line.span,
                        "'user' expects <name> as arguments.".into(),
                    );
                    return;
                }
                let mut user = User {
                    name: line.arg(1).to_string(),
                    password: None,
                    groups: Vec::new(),
                };
                let mut i = 2;
                while i < line.len() {
                    match line.arg(i) {
                        "password" => {
                            user.password = Some(Password::Crypt(line.arg(i + 1).to_string()))
                        }
                        "insecure-password" => {
                            user.password = Some(Password::Insecure(line.arg(i + 1).to_string()))
                        }
                        "groups" => user.groups = split(line.arg(i + 1)),
                        other => {
                            let msg = format!(
                                "'user' only supports 'password', 'insecure-password' and 'groups' (got '{other}')."
                            );
                            self.alert(&line.loc, line.span, msg);
                            return;
                        }
                    }
                    i += 2;
                }
                ul.users.push(user);
            }
            other => {
                let msg = format!("unknown keyword '{other}' in 'userlist' section");
                self.alert(&line.loc, line.span, msg);
            }
        }
    }
}
