//! The room's side of bans: a kick bars the member (its seat and token are
//! gone, its name and address refused), the host lifts bans, timed ones run
//! out, and the host always sees the current list.

use std::net::IpAddr;

use cinemesh_protocol::room::{Role, RoomServerMessage};

use super::Room;
use crate::Refusal;
use crate::bans::Ban;
use crate::store::RoomWrite;

impl Room {
    /// Removes `target` and bars it; `by` must be the host. Barring the
    /// address removes every other seat at it too (a second tab, a second
    /// name), except the host's own: a host sharing a home with the member
    /// bars the name only, which the ban list shows.
    pub(super) fn kick(
        &mut self,
        by: &str,
        by_name: &str,
        target: &str,
        ban_minutes: Option<u32>,
        bar_address: bool,
    ) -> Result<(), Refusal> {
        let host_address = self.seats.get(by).and_then(|s| s.address);
        let address =
            self.seats.get(target).and_then(|s| s.address).filter(|a| bar_address && Some(*a) != host_address);
        let kicked = self.members.kick(by, target)?;
        let (ban, evicted) = self.bans.add(&kicked.name, address, ban_minutes, (self.now_ms)());
        self.save_ban(&ban);
        if let Some(evicted) = evicted {
            self.forget_ban(&evicted.id);
        }
        let mut removed = vec![(target.to_owned(), kicked.name)];
        let companions: Vec<String> = self
            .seats
            .iter()
            .filter(|(id, seat)| address.is_some() && seat.address == address && *id != by && *id != target)
            .map(|(id, _)| id.clone())
            .collect();
        for companion in companions {
            if let Ok(member) = self.members.kick(by, &companion) {
                removed.push((companion, member.name));
            }
        }
        for (member, name) in &removed {
            self.send(
                member,
                &crate::frame::refusal_message(Refusal::new("kicked", "the host removed you from the room")),
            );
            // Dropping the attachment ends the member's session; with the seat goes the resume token.
            self.seats.remove(member);
            self.forget_member(member);
            self.forget_health(member);
            self.system(format!("{} was removed by {by_name}", name.as_str()));
        }
        let gone: Vec<&str> = removed.iter().map(|(member, _)| member.as_str()).collect();
        self.members_changed(&[], &gone);
        self.send_bans();
        self.pause_while_nobody_online();
        Ok(())
    }

    pub(super) fn unban(&mut self, by: &str, ban: &str) -> Result<(), Refusal> {
        self.members.require_host(by)?;
        self.bans.lift(ban).ok_or_else(|| Refusal::new("unknown_ban", "no such ban in this room"))?;
        self.forget_ban(ban);
        self.send_bans();
        Ok(())
    }

    /// Refuses a newcomer the host barred (by name or address).
    pub(super) fn admit(&self, name: &crate::members::DisplayName, address: Option<IpAddr>) -> Result<(), Refusal> {
        self.bans.admit(Some(name), address, (self.now_ms)())
    }

    /// Refuses a seat's return from an address the host barred since it was taken.
    pub(super) fn readmit(&self, address: Option<IpAddr>) -> Result<(), Refusal> {
        self.bans.admit(None, address, (self.now_ms)())
    }

    pub(super) fn expire_bans(&mut self) {
        let over = self.bans.expire((self.now_ms)());
        for ban in &over {
            self.forget_ban(&ban.id);
        }
        if !over.is_empty() {
            self.send_bans();
        }
    }

    /// The list, to the host (only the host may lift a ban).
    pub(super) fn send_bans(&self) {
        let message = RoomServerMessage::Bans { bans: self.bans.views() };
        for (id, _) in self.members.iter().filter(|(_, m)| m.role == Role::Host) {
            self.send(id, &message);
        }
    }

    fn save_ban(&self, ban: &Ban) {
        if let Some(store) = &self.store {
            store.write(RoomWrite::Ban { room: self.setup.id.clone(), ban: ban.clone() });
        }
    }

    fn forget_ban(&self, id: &str) {
        if let Some(store) = &self.store {
            store.write(RoomWrite::Unban { room: self.setup.id.clone(), id: id.to_owned() });
        }
    }
}
