//! How far ahead the room schedules a start: far enough that its slowest
//! member hears of it before it happens, and no further. A member that hears
//! of a start after its moment starts late; one that hears of it long before
//! only waits, and so does everyone's first frame. Across emulated homes
//! (40 ms round trips) a fixed 250 ms was a tenth of the room's time to first
//! frame, four times what the members needed.
//!
//! Each member's player says the smallest round trip it measured to the
//! server lately; the start goes out half the largest of them (the way back
//! to the member) plus a margin for jitter, for the member's clock estimate
//! and for its busy main thread; for a member on another instance, also the
//! relay between the instances. While an online member has said nothing (it
//! just joined or came back, or its page predates the report), the default
//! holds.

use std::collections::HashMap;

use cinemesh_protocol::room::MemberId;

use crate::playback::DEFAULT_START_LEAD_MS;

/// Above half a round trip: jitter, the clock estimate's error, a busy page, ms.
const MARGIN_MS: f64 = 80.0;
/// The shortest lead, whatever the round trips: a page busy decoding or
/// hashing takes tens of ms to handle a message, ms.
const MIN_LEAD_MS: i64 = 120;
/// Added for a member on another instance: its pings measure the way to that
/// instance, not the relay through Redis from the room's, nor the difference
/// between the two instances' clocks, ms.
const RELAYED_MS: f64 = 50.0;
/// The longest: a member that says more is on a path no lead covers, ms.
const MAX_LEAD_MS: i64 = 2_000;
/// The largest round trip a member may report, ms.
pub const MAX_ROUND_TRIP_MS: f64 = 60_000.0;

#[derive(Debug, Default)]
pub struct StartLead {
    round_trips: HashMap<MemberId, f64>,
}

impl StartLead {
    /// A member's smallest recent round trip to the server, ms.
    pub fn report(&mut self, member: &str, round_trip_ms: f64) {
        self.round_trips.insert(member.to_owned(), round_trip_ms);
    }

    /// The member went offline or left.
    pub fn forget(&mut self, member: &str) {
        self.round_trips.remove(member);
    }

    /// The lead for the next start to the `online` members (each with
    /// whether it is on another instance), ms.
    pub fn lead_ms<'a>(&self, online: impl IntoIterator<Item = (&'a str, bool)>) -> i64 {
        let mut slowest: Option<f64> = None;
        for (member, relayed) in online {
            let Some(&round_trip) = self.round_trips.get(member) else {
                return DEFAULT_START_LEAD_MS;
            };
            let way_there = round_trip / 2.0 + if relayed { RELAYED_MS } else { 0.0 };
            slowest = Some(slowest.map_or(way_there, |s| s.max(way_there)));
        }
        slowest.map_or(DEFAULT_START_LEAD_MS, |s| ((s + MARGIN_MS).ceil() as i64).clamp(MIN_LEAD_MS, MAX_LEAD_MS))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nobody_online_or_measured_keeps_the_default() {
        let lead = StartLead::default();
        assert_eq!(lead.lead_ms([]), DEFAULT_START_LEAD_MS);
        assert_eq!(lead.lead_ms([("a", false)]), DEFAULT_START_LEAD_MS);
    }

    #[test]
    fn the_slowest_online_member_sets_the_lead() {
        let mut lead = StartLead::default();
        lead.report("a", 40.0);
        lead.report("b", 300.0);
        assert_eq!(lead.lead_ms([("a", false), ("b", false)]), 230);
        // Offline, b hears of nothing.
        assert_eq!(lead.lead_ms([("a", false)]), MIN_LEAD_MS);
        lead.forget("b");
        assert_eq!(lead.lead_ms([("a", false), ("b", false)]), DEFAULT_START_LEAD_MS);
    }

    #[test]
    fn short_round_trips_keep_the_shortest_lead_and_long_ones_the_longest() {
        let mut lead = StartLead::default();
        lead.report("a", 1.0);
        assert_eq!(lead.lead_ms([("a", false)]), MIN_LEAD_MS);
        lead.report("a", MAX_ROUND_TRIP_MS);
        assert_eq!(lead.lead_ms([("a", false)]), MAX_LEAD_MS);
    }

    #[test]
    fn an_online_member_that_said_nothing_gets_the_default() {
        let mut lead = StartLead::default();
        lead.report("a", 40.0);
        assert_eq!(lead.lead_ms([("a", false), ("new", false)]), DEFAULT_START_LEAD_MS);
    }

    #[test]
    fn a_member_on_another_instance_gets_the_relay_too() {
        let mut lead = StartLead::default();
        lead.report("far", 200.0);
        assert_eq!(lead.lead_ms([("far", false)]), 180);
        assert_eq!(lead.lead_ms([("far", true)]), 230);
    }
}
