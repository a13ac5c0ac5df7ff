//! Roles: the host hands over, names co-hosts and says who may control
//! playback; every change is stored and shown to everyone.

use cinemesh_protocol::room::ControlPolicy;

use super::Room;
use crate::Refusal;

impl Room {
    pub(super) fn set_policy(&mut self, member: &str, policy: ControlPolicy) -> Result<(), Refusal> {
        self.members.set_policy(member, policy)?;
        self.save_state();
        self.members_changed(&[], &[]);
        Ok(())
    }

    pub(super) fn set_cohost(&mut self, member: &str, target: &str, cohost: bool) -> Result<(), Refusal> {
        self.members.set_cohost(member, target, cohost)?;
        self.save_member(target);
        self.members_changed(&[target], &[]);
        Ok(())
    }

    pub(super) fn hand_over(&mut self, member: &str, target: &str) -> Result<(), Refusal> {
        self.members.hand_over(member, target)?;
        self.save_member(member);
        self.save_member(target);
        self.members_changed(&[member, target], &[]);
        if let Some(host) = self.members.get(target).map(|m| m.name.as_str().to_owned()) {
            self.system(format!("{host} is now the host"));
        }
        // The new host may lift bans: it gets their list.
        self.send_bans();
        Ok(())
    }
}
