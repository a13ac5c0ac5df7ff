//! A room's members: display names unique within the room, roles, and what
//! each role may do. The server enforces all of it; clients only show it.

use std::collections::BTreeMap;

use cinemesh_protocol::room::{ControlPolicy, MAX_NAME_CHARS, MemberId, Role};

use crate::Refusal;

/// A display name as shown: normalized and trimmed (see `text`), 1 to
/// `MAX_NAME_CHARS` characters, nothing hidden. Two names that look alike
/// (case, confusable letters) are the same name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DisplayName(String);

impl DisplayName {
    pub fn parse(raw: &str) -> Result<Self, Refusal> {
        let name = crate::text::clean_name(raw)?;
        let chars = name.chars().count();
        if chars == 0 || chars > MAX_NAME_CHARS {
            return Err(Refusal::new("invalid_name", format!("a name has 1 to {MAX_NAME_CHARS} characters")));
        }
        Ok(Self(name))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// What two names must not share to be told apart.
    pub fn key(&self) -> String {
        crate::text::name_key(&self.0)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    pub name: DisplayName,
    pub role: Role,
}

#[derive(Debug, Clone)]
pub struct Members {
    members: BTreeMap<MemberId, Member>,
    pub policy: ControlPolicy,
}

impl Members {
    pub fn new(policy: ControlPolicy) -> Self {
        Self { members: BTreeMap::new(), policy }
    }

    pub fn len(&self) -> usize {
        self.members.len()
    }

    pub fn is_empty(&self) -> bool {
        self.members.is_empty()
    }

    pub fn get(&self, id: &str) -> Option<&Member> {
        self.members.get(id)
    }

    pub fn iter(&self) -> impl Iterator<Item = (&MemberId, &Member)> {
        self.members.iter()
    }

    pub fn host(&self) -> Option<&MemberId> {
        self.members.iter().find(|(_, m)| m.role == Role::Host).map(|(id, _)| id)
    }

    /// Adds a member; the first one is the host. A name already in the room
    /// (in any case) is refused.
    pub fn join(&mut self, id: MemberId, name: DisplayName) -> Result<Role, Refusal> {
        if self.members.values().any(|m| m.name.key() == name.key()) {
            return Err(Refusal::new(
                "name_taken",
                format!("someone in this room is already called {:?}", name.as_str()),
            ));
        }
        let role = if self.members.is_empty() { Role::Host } else { Role::Member };
        self.members.insert(id, Member { name, role });
        Ok(role)
    }

    /// Seats a member as it was stored, with its role.
    pub fn seat(&mut self, id: MemberId, name: DisplayName, role: Role) {
        self.members.insert(id, Member { name, role });
    }

    /// Removes a member. When the host leaves, the longest-serving co-host (or
    /// member) becomes host; returns the new host, if any changed.
    pub fn leave(&mut self, id: &str) -> Option<MemberId> {
        let left = self.members.remove(id)?;
        if left.role != Role::Host {
            return None;
        }
        let successor = self.members.iter().max_by_key(|(_, m)| m.role).map(|(id, _)| id.clone())?;
        if let Some(member) = self.members.get_mut(&successor) {
            member.role = Role::Host;
        }
        Some(successor)
    }

    /// Whether `id` may play, pause and seek under the room's policy.
    pub fn may_control(&self, id: &str) -> Result<(), Refusal> {
        let role = self.get(id).map(|m| m.role).ok_or_else(not_a_member)?;
        let allowed = match self.policy {
            ControlPolicy::HostOnly => role == Role::Host,
            ControlPolicy::Cohosts => role >= Role::Cohost,
            ControlPolicy::Everyone => true,
        };
        if allowed {
            Ok(())
        } else {
            Err(Refusal::new("not_allowed", "only the host (or co-hosts, when allowed) controls playback here"))
        }
    }

    /// The host makes `target` a co-host or a plain member again.
    pub fn set_cohost(&mut self, by: &str, target: &str, cohost: bool) -> Result<(), Refusal> {
        self.require_host(by)?;
        let member = self.members.get_mut(target).ok_or_else(not_a_member)?;
        if member.role == Role::Host {
            return Err(Refusal::new("not_allowed", "the host's role changes only by handing over"));
        }
        member.role = if cohost { Role::Cohost } else { Role::Member };
        Ok(())
    }

    /// The host hands over to `target` and becomes a co-host.
    pub fn hand_over(&mut self, by: &str, target: &str) -> Result<(), Refusal> {
        self.require_host(by)?;
        if by == target {
            return Ok(());
        }
        if !self.members.contains_key(target) {
            return Err(not_a_member());
        }
        for (id, member) in &mut self.members {
            if id == by {
                member.role = Role::Cohost;
            } else if id == target {
                member.role = Role::Host;
            }
        }
        Ok(())
    }

    /// The host removes `target` from the room.
    pub fn kick(&mut self, by: &str, target: &str) -> Result<Member, Refusal> {
        self.require_host(by)?;
        if by == target {
            return Err(Refusal::new("not_allowed", "the host cannot kick themselves; hand over first"));
        }
        self.members.remove(target).ok_or_else(not_a_member)
    }

    pub fn set_policy(&mut self, by: &str, policy: ControlPolicy) -> Result<(), Refusal> {
        self.require_host(by)?;
        self.policy = policy;
        Ok(())
    }

    pub fn require_host(&self, id: &str) -> Result<(), Refusal> {
        match self.get(id) {
            Some(m) if m.role == Role::Host => Ok(()),
            Some(_) => Err(Refusal::new("not_allowed", "only the host can do that")),
            None => Err(not_a_member()),
        }
    }
}

fn not_a_member() -> Refusal {
    Refusal::new("unknown_member", "no such member in this room")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn name(s: &str) -> DisplayName {
        DisplayName::parse(s).unwrap()
    }

    fn room() -> Members {
        let mut members = Members::new(ControlPolicy::HostOnly);
        members.join("h".into(), name("Ana")).unwrap();
        members.join("b".into(), name("Ben")).unwrap();
        members.join("c".into(), name("Cy")).unwrap();
        members
    }

    #[test]
    fn names_are_trimmed_bounded_and_unique_regardless_of_case() {
        assert_eq!(name("  Ana ").as_str(), "Ana");
        for bad in ["", "   ", "a\u{0007}b", &"x".repeat(MAX_NAME_CHARS + 1)] {
            assert_eq!(DisplayName::parse(bad).unwrap_err().code, "invalid_name", "{bad:?}");
        }
        assert!(DisplayName::parse(&"é".repeat(MAX_NAME_CHARS)).is_ok(), "characters, not bytes");
        let mut members = room();
        assert_eq!(members.join("x".into(), name("ana")).unwrap_err().code, "name_taken");
        assert_eq!(members.len(), 3);
    }

    #[test]
    fn the_first_member_hosts_and_a_successor_takes_over_when_the_host_leaves() {
        let mut members = room();
        assert_eq!(members.host().map(String::as_str), Some("h"));
        members.set_cohost("h", "c", true).unwrap();
        assert_eq!(members.leave("h").as_deref(), Some("c"), "a co-host comes first");
        assert_eq!(members.get("c").map(|m| m.role), Some(Role::Host));
        assert_eq!(members.leave("b"), None, "nothing changes when a member leaves");
    }

    #[test]
    fn playback_control_follows_the_policy() {
        let mut members = room();
        members.set_cohost("h", "b", true).unwrap();
        assert!(members.may_control("h").is_ok());
        assert_eq!(members.may_control("b").unwrap_err().code, "not_allowed");
        members.set_policy("h", ControlPolicy::Cohosts).unwrap();
        assert!(members.may_control("b").is_ok());
        assert_eq!(members.may_control("c").unwrap_err().code, "not_allowed");
        members.set_policy("h", ControlPolicy::Everyone).unwrap();
        assert!(members.may_control("c").is_ok());
        assert_eq!(members.may_control("nobody").unwrap_err().code, "unknown_member");
    }

    #[test]
    fn only_the_host_changes_roles_hands_over_and_kicks() {
        let mut members = room();
        assert_eq!(members.set_cohost("b", "c", true).unwrap_err().code, "not_allowed");
        assert_eq!(members.kick("b", "c").unwrap_err().code, "not_allowed");
        assert_eq!(members.set_policy("c", ControlPolicy::Everyone).unwrap_err().code, "not_allowed");
        assert_eq!(members.kick("h", "h").unwrap_err().code, "not_allowed");
        members.hand_over("h", "b").unwrap();
        assert_eq!(members.host().map(String::as_str), Some("b"));
        assert_eq!(members.get("h").map(|m| m.role), Some(Role::Cohost));
        assert_eq!(members.kick("b", "c").unwrap().name.as_str(), "Cy");
        assert_eq!(members.kick("b", "c").unwrap_err().code, "unknown_member");
    }
}
