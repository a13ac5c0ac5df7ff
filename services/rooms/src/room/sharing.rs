//! The members whose players share segments: the room's fetch plan (who
//! fetches which segment over HTTP for everyone) and the rendition they all
//! load, judged from their buffers and the origin's load.

use cinemesh_protocol::room::{
    MAX_RENDITION_NAME_LEN, MAX_TRACKER_PEER_ID_LEN, RoomServerMessage, is_rendition_name, is_tracker_peer_id,
};

use super::Room;
use crate::Refusal;
use crate::delivery::fan_out;
use crate::fetch_plan::{FetchPlans, Sharer, plans};
use crate::frame::frame_of;

/// Ingest cuts movies into segments of this many seconds.
const SEGMENT_SECS: f64 = 2.0;

impl Room {
    pub(super) fn sharing(&mut self, member: &str, shares: bool, sharer: Sharer) -> Result<(), Refusal> {
        if sharer.peer.as_deref().is_some_and(|p| !is_tracker_peer_id(p)) {
            return Err(Refusal::new(
                "invalid_sharing",
                format!("peer is a tracker id: up to {MAX_TRACKER_PEER_ID_LEN} letters, digits, - or _"),
            ));
        }
        if sharer.audio.as_deref().is_some_and(|a| !is_rendition_name(a)) {
            return Err(Refusal::new(
                "invalid_sharing",
                format!("audio is a rendition's name: up to {MAX_RENDITION_NAME_LEN} letters, digits, -, _ or ."),
            ));
        }
        if shares {
            let sharer = Sharer { upload_cap: sharer.upload_cap.filter(|c| c.is_finite()), ..sharer };
            self.sharers.insert(member.to_owned(), sharer);
        } else {
            self.sharers.remove(member);
        }
        if !self.replan() {
            self.send(member, &self.fetch_plan_message());
        }
        if shares {
            self.send(member, &RoomServerMessage::Rendition { level: self.rendition.level() });
        } else {
            self.rendition.forget(member);
        }
        Ok(())
    }

    /// Recomputes the fetch plans; when they changed, everyone gets them (true).
    pub(super) fn replan(&mut self) -> bool {
        let plans = plans(&self.sharers);
        if plans == self.fetch_plan {
            return false;
        }
        self.fetch_plan = plans;
        self.broadcast(&self.fetch_plan_message());
        true
    }

    pub(super) fn fetch_plan_message(&self) -> RoomServerMessage {
        let FetchPlans { slots, fetchers, audio } = self.fetch_plan.clone();
        RoomServerMessage::FetchPlan { slots, fetchers, audio }
    }

    /// The sharing players' rendition, judged from their buffers while the room plays.
    pub(super) fn choose_rendition(&mut self) {
        let now = (self.now_ms)();
        let state = self.clock.state();
        let playing = state.playing && now >= state.anchor_ms && self.wait.is_none();
        let origin_copies = self.origin.copies_per_segment(now as f64, SEGMENT_SECS);
        if let Some(level) = self.rendition.decide(playing, origin_copies, now) {
            self.send_rendition(level);
        }
    }

    /// Only sharing players follow the room's rendition (the others' buffers do not count).
    pub(super) fn send_rendition(&self, level: u32) {
        let frame = frame_of(&RoomServerMessage::Rendition { level });
        let sharing = self.sharers.keys().filter_map(|id| self.seats.get(id)?.attachment.as_ref());
        fan_out(sharing, &frame);
    }
}
