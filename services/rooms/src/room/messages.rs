//! What a member says to its room, each kind handed to the part of the room
//! that deals with it. A refusal goes back to that member alone.

use cinemesh_protocol::room::{MemberTracks, RoomClientMessage};

use super::Room;
use super::health::StatusReport;
use crate::Refusal;
use crate::fetch_plan::Sharer;

impl Room {
    pub(super) fn message(&mut self, member: &str, message: RoomClientMessage) -> Result<(), Refusal> {
        let name = self
            .members
            .get(member)
            .map(|m| m.name.as_str().to_owned())
            .ok_or_else(|| Refusal::new("unknown_member", "not a member of this room"))?;
        match message {
            RoomClientMessage::Hello { .. } => Err(Refusal::new("already_greeted", "hello was already said")),
            // Handled by the session, which knows its connection.
            RoomClientMessage::Leave => Ok(()),
            RoomClientMessage::Status {
                buffering,
                offset_ms,
                shared_bytes,
                origin_fetches,
                ahead_secs,
                top_level,
                movie,
                rtt_ms,
            } => {
                // Said by a player of a movie the room has left (before it heard): it says nothing of this one.
                if movie.is_some_and(|m| m != self.setup.movie) {
                    return Ok(());
                }
                let report =
                    StatusReport { buffering, offset_ms, shared_bytes, origin_fetches, ahead_secs, top_level, rtt_ms };
                self.report_status(member, &name, report)
            }
            // Answered by the session without a trip through the room.
            RoomClientMessage::Ping { .. } => Ok(()),
            RoomClientMessage::Control { based_on, command } => self.control(member, &name, based_on, command),
            RoomClientMessage::Chat { text, nonce } => self.say(name, &text, nonce),
            RoomClientMessage::React { message, emoji } => self.react(member, message, emoji),
            RoomClientMessage::Typing { active } => {
                self.set_typing(member, active);
                Ok(())
            }
            RoomClientMessage::SetPolicy { policy } => self.set_policy(member, policy),
            RoomClientMessage::SetCohost { member: target, cohost } => self.set_cohost(member, &target, cohost),
            RoomClientMessage::HandOver { member: target } => self.hand_over(member, &target),
            RoomClientMessage::Kick { member: target, ban_minutes, bar_address } => {
                self.kick(member, &name, &target, ban_minutes, bar_address.unwrap_or(true))
            }
            RoomClientMessage::Unban { ban } => self.unban(member, &ban),
            RoomClientMessage::Sharing { shares, upload_cap, unreachable_peers, peer, audio } => {
                let sharer = Sharer { upload_cap, unreachable_peers: unreachable_peers.unwrap_or(0), peer, audio };
                self.sharing(member, shares, sharer)
            }
            RoomClientMessage::QueueAdd { movie } => self.queue_add(member, &name, movie),
            RoomClientMessage::QueueRemove { entry } => self.queue_remove(member, &name, &entry),
            RoomClientMessage::QueueMove { entry, to, based_on } => self.queue_move(member, &entry, to, based_on),
            RoomClientMessage::QueuePlay { entry } => self.queue_play(member, &name, &entry),
            RoomClientMessage::QueueSettings { autoplay, countdown_secs, suggestions } => {
                self.queue_settings(member, autoplay, countdown_secs, suggestions)
            }
            RoomClientMessage::CancelCountdown => self.cancel_countdown(member, &name),
            RoomClientMessage::Call { joined } => {
                self.call(member, joined);
                Ok(())
            }
            RoomClientMessage::CallLinked { pair } => {
                self.call_linked(member, &pair);
                Ok(())
            }
            RoomClientMessage::Streaming { kinds } => self.streaming(member, kinds),
            RoomClientMessage::Tracks { audio, subtitles } => self.tracks(member, MemberTracks { audio, subtitles }),
            RoomClientMessage::SuggestTracks { audio, subtitles } => {
                self.suggest_tracks(member, MemberTracks { audio, subtitles })
            }
            RoomClientMessage::Signal { to, data } => self.signal(member, to, data),
        }
    }
}
