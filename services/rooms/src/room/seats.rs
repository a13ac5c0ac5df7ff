//! Seats: joining, taking a seat back on a new socket with the resume
//! token, dropping off (the seat is kept for the resume grace), leaving, and
//! what everyone is told about who is in the room.

use std::net::IpAddr;

use cinemesh_common::swarm_token::now_unix_secs;
use cinemesh_protocol::room::{
    MemberId, MemberTracks, MemberView, ROOM_PROTOCOL_VERSION, Role, RoomServerMessage, StreamKind,
};
use sha2::{Digest, Sha256};

use super::Room;
use crate::Refusal;
use crate::delivery::Attachment;
use crate::members::DisplayName;
use crate::store::{RoomWrite, StoredMember};

pub(super) struct Seat {
    /// SHA-256 of the resume token, hex: the token itself is not kept.
    pub resume_digest: String,
    pub attachment: Option<Attachment>,
    /// Set while detached: when the seat is given up, server ms.
    pub keep_until_ms: Option<i64>,
    /// What the member streams now, sorted.
    pub streaming: Vec<StreamKind>,
    /// Whether the member is in the video call.
    pub in_call: bool,
    /// What the member hears and reads.
    pub tracks: MemberTracks,
    /// The client address it joined from, to bar it with a kick.
    pub address: Option<IpAddr>,
}

fn digest(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

impl Room {
    pub(super) fn is_attached(&self, member: &str, connection: &str) -> bool {
        self.seats.get(member).and_then(|s| s.attachment.as_ref()).is_some_and(|a| a.connection == connection)
    }

    pub(super) fn seat_of(&self, resume_token: &str) -> Option<MemberId> {
        let wanted = digest(resume_token);
        self.seats.iter().find(|(_, seat)| seat.resume_digest == wanted).map(|(id, _)| id.clone())
    }

    pub(super) fn join(
        &mut self,
        name: String,
        admitted: bool,
        attachment: Attachment,
        address: Option<IpAddr>,
    ) -> Result<MemberId, Refusal> {
        if self.setup.password.is_some() && !admitted {
            return Err(Refusal::new("wrong_password", "this room needs the right password"));
        }
        let name = DisplayName::parse(&name)?;
        self.admit(&name, address)?;
        if self.members.len() >= self.max_members {
            return Err(Refusal::new("room_full", format!("this room seats {} people", self.max_members)));
        }
        let member = cinemesh_common::id::random_id(12);
        self.members.join(member.clone(), name.clone())?;
        let token = cinemesh_common::id::random_id(24);
        let seat = Seat {
            resume_digest: digest(&token),
            attachment: Some(attachment),
            keep_until_ms: None,
            streaming: Vec::new(),
            in_call: false,
            tracks: MemberTracks::default(),
            address,
        };
        self.seats.insert(member.clone(), seat);
        self.empty_since_ms = None;
        self.save_member(&member);
        self.welcome(&member, &token);
        self.members_changed(&[&member], &[]);
        self.system(format!("{} joined", name.as_str()));
        Ok(member)
    }

    /// The member takes its seat back on a new socket: no leave, no join, the
    /// current state and the recent chat in its welcome.
    pub(super) fn resume(
        &mut self,
        member: MemberId,
        token: &str,
        attachment: Attachment,
        address: Option<IpAddr>,
    ) -> MemberId {
        // Its round trip is said again on the new path.
        self.start_lead.forget(&member);
        if let Some(seat) = self.seats.get_mut(&member) {
            // A socket still attached is replaced; dropping it ends that session.
            seat.attachment = Some(attachment);
            seat.keep_until_ms = None;
            seat.address = address;
        }
        self.welcome(&member, token);
        self.members_changed(&[&member], &[]);
        member
    }

    pub(super) fn detach(&mut self, member: &str) {
        if let Some(seat) = self.seats.get_mut(member) {
            seat.attachment = None;
            seat.keep_until_ms = Some((self.now_ms)() + self.resume_grace_ms);
            // The media went with the socket; the page joins the call again.
            seat.streaming.clear();
            seat.in_call = false;
        }
        self.forget_health(member);
        self.members_changed(&[member], &[]);
        self.pause_while_nobody_online();
    }

    /// Records a member's seat (name, role, resume digest) so it survives a
    /// restart or a move to another instance.
    pub(super) fn save_member(&self, member: &str) {
        let (Some(store), Some(m), Some(seat)) = (&self.store, self.members.get(member), self.seats.get(member)) else {
            return;
        };
        store.write(RoomWrite::Member {
            room: self.setup.id.clone(),
            member: StoredMember {
                id: member.to_owned(),
                name: m.name.as_str().to_owned(),
                role: m.role,
                resume_digest: seat.resume_digest.clone(),
            },
            at_ms: (self.now_ms)(),
        });
    }

    pub(super) fn forget_member(&self, member: &str) {
        if let Some(store) = &self.store {
            store.write(RoomWrite::MemberGone { room: self.setup.id.clone(), member: member.to_owned() });
        }
    }

    pub(super) fn give_up_seats(&mut self) {
        let now = (self.now_ms)();
        let expired: Vec<MemberId> = self
            .seats
            .iter()
            .filter(|(_, seat)| seat.keep_until_ms.is_some_and(|until| until <= now))
            .map(|(id, _)| id.clone())
            .collect();
        for member in expired {
            self.leave(&member, "left");
        }
    }

    pub(super) fn welcome(&self, member: &MemberId, token: &str) {
        let now = (self.now_ms)();
        let welcome = RoomServerMessage::Welcome {
            version: ROOM_PROTOCOL_VERSION,
            member: member.clone(),
            resume_token: token.to_owned(),
            presence_pass: self.passes.issue(&self.setup.id, member, now_unix_secs()),
            // Fresh with every welcome: a page back after sleep or a network change gets new ones.
            ice_servers: self.ice_servers.for_viewer(member, now_unix_secs()),
            room: self.setup.id.clone(),
            movie: self.setup.movie.clone(),
            policy: self.members.policy,
            members: self.member_views(),
            playback: self.clock.state(),
            chat: self.chat.iter().cloned().collect(),
            server_ms: now,
            suggested_tracks: self.suggested_tracks.clone(),
            now_playing: Some(self.now_playing()),
            queue: self.queue.view().clone(),
            history: self.queue.history(),
        };
        self.send(member, &welcome);
        if self.members.get(member).is_some_and(|m| m.role == Role::Host) {
            self.send(member, &RoomServerMessage::Bans { bans: self.bans.views() });
        }
    }

    pub(super) fn leave(&mut self, member: &str, how: &str) {
        let Some(name) = self.members.get(member).map(|m| m.name.as_str().to_owned()) else { return };
        let new_host = self.members.leave(member);
        self.seats.remove(member);
        self.forget_member(member);
        self.forget_health(member);
        self.system(format!("{name} {how}"));
        let mut changed = Vec::new();
        if let Some(host) = new_host {
            self.save_member(&host);
            if let Some(name) = self.members.get(&host).map(|m| m.name.as_str().to_owned()) {
                self.system(format!("{name} is now the host"));
            }
            changed.push(host);
        }
        let handed_over = !changed.is_empty();
        let changed: Vec<&str> = changed.iter().map(String::as_str).collect();
        self.members_changed(&changed, &[member]);
        if handed_over {
            self.send_bans();
        }
        self.pause_while_nobody_online();
    }

    pub(super) fn member_view(&self, id: &str) -> Option<MemberView> {
        let member = self.members.get(id)?;
        let seat = self.seats.get(id);
        Some(MemberView {
            id: id.to_owned(),
            name: member.name.as_str().to_owned(),
            role: member.role,
            online: seat.is_some_and(|s| s.attachment.is_some()),
            streaming: seat.map(|s| s.streaming.clone()).unwrap_or_default(),
            in_call: seat.is_some_and(|s| s.in_call),
            tracks: seat.map(|s| s.tracks.clone()).unwrap_or_default(),
        })
    }

    pub(super) fn member_views(&self) -> Vec<MemberView> {
        self.members.iter().filter_map(|(id, _)| self.member_view(id)).collect()
    }

    /// Tells everyone what changed about these members (and the policy):
    /// the size of the change, not of the room.
    pub(super) fn members_changed(&self, changed: &[&str], left: &[&str]) {
        self.broadcast(&RoomServerMessage::MembersChanged {
            changed: changed.iter().filter_map(|id| self.member_view(id)).collect(),
            left: left.iter().map(|id| (*id).to_owned()).collect(),
            policy: self.members.policy,
        });
    }
}
