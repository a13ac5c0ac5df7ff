//! What members' players say every few seconds (buffering, their error
//! against the room, bytes shared, their fetches from the origin, their
//! buffer ahead), checked, and the health panel everyone sees.

use cinemesh_protocol::room::{
    MAX_FETCHED_SEGMENT_CHARS, MAX_ORIGIN_FETCHES, MAX_RENDITION_LEVEL, MemberHealth, OriginFetch, RoomServerMessage,
};

use super::Room;
use super::start_lead::MAX_ROUND_TRIP_MS;
use crate::Refusal;
use crate::origin_load;

/// The most bytes a member may say it shared: far past any evening's upload.
const MAX_SHARED_BYTES: f64 = 1e13;
/// Sync health goes out at most this often, ms.
const HEALTH_EVERY_MS: i64 = 2_000;

/// One status message, as the member sent it.
pub(super) struct StatusReport {
    pub buffering: bool,
    pub offset_ms: Option<f64>,
    pub shared_bytes: Option<f64>,
    pub origin_fetches: Option<Vec<OriginFetch>>,
    pub ahead_secs: Option<f64>,
    pub top_level: Option<u32>,
    pub rtt_ms: Option<f64>,
}

impl Room {
    pub(super) fn report_status(&mut self, member: &str, name: &str, report: StatusReport) -> Result<(), Refusal> {
        let StatusReport { buffering, offset_ms, shared_bytes, origin_fetches, ahead_secs, top_level, rtt_ms } = report;
        // Figures feed the shared histogram and everyone's health panel: nonsense is refused.
        let longest_offset_ms = self.setup.duration_ms + 60_000.0;
        if offset_ms.is_some_and(|o| !o.is_finite() || o.abs() > longest_offset_ms) {
            return Err(Refusal::new("invalid_status", "offset_ms is beyond the movie"));
        }
        if shared_bytes.is_some_and(|b| !b.is_finite() || !(0.0..=MAX_SHARED_BYTES).contains(&b)) {
            return Err(Refusal::new("invalid_status", "shared_bytes is not a byte count"));
        }
        if ahead_secs.is_some_and(|a| !a.is_finite() || !(0.0..=longest_offset_ms / 1000.0).contains(&a)) {
            return Err(Refusal::new("invalid_status", "ahead_secs is not a span of the movie"));
        }
        if rtt_ms.is_some_and(|r| !r.is_finite() || !(0.0..=MAX_ROUND_TRIP_MS).contains(&r)) {
            return Err(Refusal::new(
                "invalid_status",
                format!("rtt_ms is not a round trip of 0 to {MAX_ROUND_TRIP_MS} ms"),
            ));
        }
        if top_level.is_some_and(|l| l > MAX_RENDITION_LEVEL) {
            return Err(Refusal::new("invalid_status", format!("top_level is at most {MAX_RENDITION_LEVEL}")));
        }
        let fetches = origin_fetches.unwrap_or_default();
        if fetches.len() > MAX_ORIGIN_FETCHES {
            return Err(Refusal::new(
                "invalid_status",
                format!("at most {MAX_ORIGIN_FETCHES} origin fetches per status"),
            ));
        }
        let now = (self.now_ms)() as f64;
        if !fetches.iter().all(|f| origin_load::plausible(f, now)) {
            return Err(Refusal::new(
                "invalid_status",
                format!(
                    "an origin fetch is not one of the last two minutes, or its segment is not 1 to {MAX_FETCHED_SEGMENT_CHARS} characters"
                ),
            ));
        }
        for fetch in fetches {
            self.origin.record(fetch);
        }
        if let Some(round_trip) = rtt_ms {
            self.start_lead.report(member, round_trip);
        }
        if let Some(offset) = offset_ms {
            self.metrics.sync_error_ms.observe(offset.abs());
        }
        let health = MemberHealth { id: member.to_owned(), buffering, offset_ms, shared_bytes };
        if self.health.get(member) != Some(&health) {
            self.health.insert(member.to_owned(), health);
            self.health_changed = true;
        }
        self.judge_buffering(member, name, buffering);
        if let (Some(ahead), Some(top)) = (ahead_secs, top_level) {
            self.rendition.report(member, ahead, top, (self.now_ms)());
        }
        Ok(())
    }

    /// Schedules the next start for the members online now (see `start_lead`).
    pub(super) fn set_start_lead(&mut self) {
        let online = self.seats.iter().filter_map(|(id, seat)| {
            let relayed = matches!(seat.attachment.as_ref()?.route, crate::delivery::Route::Remote { .. });
            Some((id.as_str(), relayed))
        });
        let lead = self.start_lead.lead_ms(online);
        self.clock.set_start_lead(lead);
    }

    /// The member is offline or gone: its health and its share of the fetching go.
    pub(super) fn forget_health(&mut self, member: &str) {
        self.rendition.forget(member);
        self.start_lead.forget(member);
        if self.sharers.remove(member).is_some() {
            self.replan();
        }
        self.health_changed |= self.health.remove(member).is_some();
        self.typing.remove(member);
        self.catching_up.remove(member);
        if let Some(wait) = &mut self.wait {
            wait.members.remove(member);
            if wait.members.is_empty() {
                self.go_on("Everyone is ready".into());
            }
        }
    }

    pub(super) fn send_health(&mut self) {
        let now = (self.now_ms)();
        let origin = origin_load::published(self.origin_bytes_per_sec, self.origin.bytes_per_sec(now as f64));
        if origin != self.origin_bytes_per_sec {
            self.origin_bytes_per_sec = origin;
            self.health_changed = true;
        }
        if !self.health_changed || now - self.health_sent_ms < HEALTH_EVERY_MS {
            return;
        }
        self.health_changed = false;
        self.health_sent_ms = now;
        let mut members: Vec<MemberHealth> = self.health.values().cloned().collect();
        members.sort_by(|a, b| a.id.cmp(&b.id));
        self.broadcast(&RoomServerMessage::Health { members, origin_bytes_per_sec: self.origin_bytes_per_sec });
    }
}
