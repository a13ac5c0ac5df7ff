//! The call and what members stream into the room: who is in the call, what
//! each may send (camera, microphone, screen, a file), and the WebRTC
//! signals relayed between members.

use cinemesh_protocol::ice::IcePair;
use cinemesh_protocol::room::{MAX_SIGNAL_BYTES, MAX_VIDEO_SENDERS, RoomServerMessage, StreamKind};

use super::Room;
use crate::Refusal;

impl Room {
    pub(super) fn call(&mut self, member: &str, joined: bool) {
        if let Some(seat) = self.seats.get_mut(member)
            && seat.in_call != joined
        {
            seat.in_call = joined;
            if !joined {
                seat.streaming.retain(|kind| !kind.needs_call());
            }
            self.members_changed(&[member], &[]);
        }
    }

    /// The kind of path a call link took, for the shared counts.
    pub(super) fn call_linked(&self, member: &str, pair: &IcePair) {
        if self.seats.get(member).is_some_and(|seat| seat.in_call) {
            self.metrics.ice_pairs.count("call", pair.as_str());
        }
    }

    pub(super) fn streaming(&mut self, member: &str, mut kinds: Vec<StreamKind>) -> Result<(), Refusal> {
        kinds.sort();
        kinds.dedup();
        self.may_stream(member, &kinds)?;
        if let Some(seat) = self.seats.get_mut(member)
            && seat.streaming != kinds
        {
            seat.streaming = kinds;
            self.members_changed(&[member], &[]);
        }
        Ok(())
    }

    pub(super) fn signal(&self, member: &str, to: String, data: serde_json::Value) -> Result<(), Refusal> {
        if to == member || self.seats.get(&to).is_none_or(|seat| seat.attachment.is_none()) {
            return Err(Refusal::new("unknown_member", "no such member online in this room"));
        }
        let size = serde_json::to_string(&data).map_or(usize::MAX, |text| text.len());
        if size > MAX_SIGNAL_BYTES {
            return Err(Refusal::new(
                "signal_too_large",
                format!("a signal is at most {MAX_SIGNAL_BYTES} bytes of JSON"),
            ));
        }
        self.send(&to, &RoomServerMessage::Signal { from: member.to_owned(), data });
        Ok(())
    }

    /// Whether `member` may stream `kinds`: the call's media only in the
    /// call, video only while fewer than `MAX_VIDEO_SENDERS` others send it,
    /// a file only with playback control and while nobody else streams one.
    fn may_stream(&self, member: &str, kinds: &[StreamKind]) -> Result<(), Refusal> {
        let seat = self.seats.get(member).ok_or_else(|| Refusal::new("unknown_member", "not in this room"))?;
        let others = || self.seats.iter().filter(move |(id, _)| id.as_str() != member).map(|(_, seat)| seat);
        if !seat.in_call && kinds.iter().any(|kind| kind.needs_call()) {
            return Err(Refusal::new("not_in_call", "join the call to stream a camera, microphone or screen"));
        }
        let sends_video = |kinds: &[StreamKind]| kinds.iter().any(|kind| kind.is_call_video());
        if sends_video(kinds)
            && !sends_video(&seat.streaming)
            && others().filter(|other| sends_video(&other.streaming)).count() >= MAX_VIDEO_SENDERS
        {
            return Err(Refusal::new(
                "video_full",
                format!("{MAX_VIDEO_SENDERS} members send video already; your audio still goes"),
            ));
        }
        if kinds.contains(&StreamKind::File) {
            self.members.may_control(member)?;
            if others().any(|other| other.streaming.contains(&StreamKind::File)) {
                return Err(Refusal::new("file_in_use", "someone else is streaming a file to the room"));
            }
        }
        Ok(())
    }
}
