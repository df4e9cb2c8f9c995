//! `userlist` sections (configuration.txt §3.4):
//! `user <name> [password|insecure-password <password>] [groups <group>[,<group>]*]` and
//! `group <name> [users <user>[,<user>]*]`.

use serde::{Deserialize, Serialize};

use crate::{Line, Section, SectionKind};

/// A user's password as written.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "kind", content = "value", rename_all = "kebab-case")]
pub enum Password {
    /// `password <crypt(3) hash>`.
    Hashed(String),
    /// `insecure-password <clear text>`.
    Insecure(String),
}

/// A `user` line.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct User {
    /// The user's name.
    pub name: String,
    /// The password, when given.
    pub password: Option<Password>,
    /// `groups a,b`.
    pub groups: Vec<String>,
    /// Index of the line in its section.
    #[serde(skip)]
    pub index: usize,
}

eq_without_position!(User, name, password, groups);

/// A `group` line.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Group {
    /// The group's name.
    pub name: String,
    /// `users a,b`.
    pub users: Vec<String>,
    /// Index of the line in its section.
    #[serde(skip)]
    pub index: usize,
}

eq_without_position!(Group, name, users);

fn split_list(text: &str) -> Vec<String> {
    text.split(',').filter(|s| !s.is_empty()).map(str::to_string).collect()
}

impl User {
    /// Reads a `user` line.
    pub fn from_line(line: &Line, index: usize) -> Option<User> {
        if line.keyword()? != "user" {
            return None;
        }
        let mut user = User { name: line.value(1)?.into_owned(), password: None, groups: Vec::new(), index };
        let mut i = 2;
        while let Some(word) = line.value(i) {
            let next = line.value(i + 1).map(|v| v.into_owned()).unwrap_or_default();
            match word.as_ref() {
                "password" => user.password = Some(Password::Hashed(next)),
                "insecure-password" => user.password = Some(Password::Insecure(next)),
                "groups" => user.groups = split_list(&next),
                _ => {}
            }
            i += 2;
        }
        Some(user)
    }
}

impl Group {
    /// Reads a `group` line.
    pub fn from_line(line: &Line, index: usize) -> Option<Group> {
        if line.keyword()? != "group" {
            return None;
        }
        let users = match line.value(2).as_deref() {
            Some("users") => split_list(&line.value(3).unwrap_or_default()),
            _ => Vec::new(),
        };
        Some(Group { name: line.value(1)?.into_owned(), users, index })
    }
}

/// A read-only view of a `userlist` section.
#[derive(Debug, Clone, Copy)]
pub struct Userlist<'a> {
    section: &'a Section,
}

impl<'a> Userlist<'a> {
    /// A view of `section` when it is a `userlist`.
    pub fn new(section: &'a Section) -> Option<Self> {
        (*section.kind() == SectionKind::Userlist).then_some(Userlist { section })
    }

    /// The section.
    pub fn section(&self) -> &'a Section {
        self.section
    }

    /// The users, in order.
    pub fn users(&self) -> Vec<User> {
        self.section.statements("user").filter_map(|(i, l)| User::from_line(l, i)).collect()
    }

    /// The groups, in order.
    pub fn groups(&self) -> Vec<Group> {
        self.section.statements("group").filter_map(|(i, l)| Group::from_line(l, i)).collect()
    }

    /// The groups `user` belongs to, from both `user ... groups` and `group ... users`.
    pub fn groups_of(&self, user: &str) -> Vec<String> {
        let mut out: Vec<String> =
            self.users().into_iter().filter(|u| u.name == user).flat_map(|u| u.groups).collect();
        for group in self.groups() {
            if group.users.iter().any(|u| u == user) && !out.contains(&group.name) {
                out.push(group.name);
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_users_and_groups() {
        let mut section = Section::new(SectionKind::Userlist, Some("admins"));
        section.push_statement(&["group", "ops", "users", "tiger"]);
        section.push_statement(&["user", "tiger", "password", "$6$k", "groups", "dev,web"]);
        section.push_statement(&["user", "scott", "insecure-password", "elgato"]);
        let list = Userlist::new(&section).unwrap();
        let users = list.users();
        assert_eq!(users[0].password, Some(Password::Hashed("$6$k".into())));
        assert_eq!(users[1].password, Some(Password::Insecure("elgato".into())));
        assert_eq!(list.groups()[0].users, vec!["tiger"]);
        assert_eq!(list.groups_of("tiger"), vec!["dev", "web", "ops"]);
    }
}
