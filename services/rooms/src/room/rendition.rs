//! The rendition the room's sharing players load: one for all of them, so
//! that the room stays one swarm in which each segment is fetched about once.
//!
//! Left to itself, each member's hls.js judges the path by its own loads: a
//! sixth of a busy origin, or one peer transfer over a long round trip. It
//! reads either as all it can get, and a room that could carry 480p between
//! its members settled at 240p, each member apart. What the room can carry
//! shows instead in its members' buffers: while every player keeps its
//! buffer full, segments arrive faster than they play, and the room tries the
//! next rendition up; as soon as one player's buffer runs low, the room steps
//! down before anyone stalls; a rung on trial is left as soon as one buffer
//! drains steadily, while there is still time for the segments already on
//! their way at it. A rung that had to be left soon after it was
//! tried is not tried again for a while (longer each time), so the room does
//! not swing around what it can just about carry.
//!
//! Full buffers only say that the room keeps up at its rendition, not by how
//! much. Across emulated homes, where only two members could reach the
//! others, every buffer was full at 240p while the origin served each segment
//! 2.2 times; the room went up to 360p, the peers could not pass the bigger
//! segments on in time, and everyone stalled. So the room goes up only while
//! its origin serves each segment about once: the members pass on nearly
//! everything, and a bigger rendition costs the origin no more than one
//! viewer's worth of it.

use std::collections::{HashMap, VecDeque};

use cinemesh_protocol::room::MemberId;

/// A report older than this no longer speaks for its member (players report every 2 s), ms.
const FRESH_MS: i64 = 5_000;
/// Every player holding at least this much ahead (of the 16 s they keep) counts as full, s.
const FULL_SECS: f64 = 12.0;
/// ... for this long while the room plays, before the room goes up, ms.
const FULL_FOR_MS: i64 = 6_000;
/// A rung is kept at least this long before the next one up is tried: long
/// enough for a buffer that fills too slowly at it to fall below full, ms.
const UP_AFTER_MS: i64 = 12_000;
/// A player holding less than this ahead makes the room go down a rendition, s.
const LOW_SECS: f64 = 6.0;
/// ... while a rung is on trial: a buffer that fell this far from full
/// already shows that the rung fills it too slowly, s.
const TRIAL_LOW_SECS: f64 = 9.0;
/// A player whose buffer fell by this much over `DRAIN_OVER_MS` on a rung on
/// trial gets its segments slower than it plays them: the rung is left then,
/// not once the buffer is low. Across emulated homes a room on trial at 480p
/// saw three buffers go 16, 13, 10, 9 s every 5 s; it left at 9 s, and the
/// 480p segments already on their way stalled four members, s.
const DRAIN_SECS: f64 = 3.0;
/// ... the span that fall is judged over (a single slow segment, or the
/// burst of everyone asking for the new rung's first one, dips a buffer by a
/// second or two and it comes back), ms.
const DRAIN_OVER_MS: i64 = 8_000;
/// Reports a member's trend is judged from: the last few, ms.
const TREND_KEPT_MS: i64 = 12_000;
/// The room goes up only while its origin serves each segment at most this many times.
const MAX_ORIGIN_COPIES: f64 = 1.3;
/// A player refilling its buffer (after a seek, or when it joined) counts
/// once it held `LOW_SECS`, or at the latest after this long, ms.
const REFILL_MS: i64 = 8_000;
/// Steps down come at most this often (a step takes a segment to show), ms.
const DOWN_EVERY_MS: i64 = 4_000;
/// A rung is on trial for this long after the room went up to it: leaving it
/// then counts against it, ms.
const TRIAL_MS: i64 = 60_000;
/// A rung that failed is not tried again for this long, doubled for every
/// failure after the first, ms.
const BACKOFF_MS: i64 = 60_000;
const MAX_BACKOFF_MS: i64 = 480_000;

/// What one member's player last said.
#[derive(Debug, Clone)]
struct Report {
    ahead_secs: f64,
    /// Its recent reports (when, seconds ahead), oldest first, since it last refilled.
    recent: VecDeque<(i64, f64)>,
    top_level: u32,
    at_ms: i64,
    /// Since when its buffer has been refilling (it joined, or the room seeked).
    refill_ms: i64,
    /// It held `LOW_SECS` since then: a buffer below that now is running dry.
    refilled: bool,
}

impl Report {
    fn counts_when_low(&self, now_ms: i64) -> bool {
        self.refilled || now_ms - self.refill_ms >= REFILL_MS
    }

    /// Its buffer fell by `DRAIN_SECS` or more since a report at least
    /// `DRAIN_OVER_MS` old and no older than `since_ms` (the rung's start).
    fn draining(&self, since_ms: i64, now_ms: i64) -> bool {
        self.refilled
            && self
                .recent
                .iter()
                .rev()
                .find(|(at, _)| now_ms - at >= DRAIN_OVER_MS)
                .is_some_and(|&(at, then)| at >= since_ms && then - self.ahead_secs >= DRAIN_SECS)
    }
}

#[derive(Debug, Default)]
pub struct RoomRendition {
    level: u32,
    changed_ms: i64,
    /// The last change went up (the rung is on trial).
    went_up: bool,
    /// Since when every fresh report has been full while the room played (none: one was not).
    full_since_ms: Option<i64>,
    /// Per rung: failures so far, and until when it is not tried again.
    blocked: HashMap<u32, (u32, i64)>,
    reports: HashMap<MemberId, Report>,
}

impl RoomRendition {
    pub fn level(&self) -> u32 {
        self.level
    }

    /// A player's buffer ahead and the highest rendition it shows.
    pub fn report(&mut self, member: &str, ahead_secs: f64, top_level: u32, now_ms: i64) {
        let report = self.reports.entry(member.to_owned()).or_insert(Report {
            ahead_secs,
            recent: VecDeque::new(),
            top_level,
            at_ms: now_ms,
            refill_ms: now_ms,
            refilled: false,
        });
        report.ahead_secs = ahead_secs;
        report.top_level = top_level;
        report.at_ms = now_ms;
        report.refilled |= ahead_secs >= LOW_SECS;
        report.recent.push_back((now_ms, ahead_secs));
        while report.recent.front().is_some_and(|(at, _)| now_ms - at > TREND_KEPT_MS) {
            report.recent.pop_front();
        }
    }

    /// The room moved to another position: every buffer starts again from
    /// nothing. A rung still on trial is left (the new level, if so): a
    /// buffer refilled at a rung the room has not shown it can carry held
    /// everyone's start after a seek past the room's bounded wait. The rung
    /// did not fail, though: it is tried again once the buffers are full,
    /// without a backoff. Across emulated homes a seek 10 s after the room
    /// went up to 360p kept it out for the 60 s backoff, and the room played
    /// at 240p for all but 10 s of the run.
    pub fn refill(&mut self, now_ms: i64) -> Option<u32> {
        for report in self.reports.values_mut() {
            report.refill_ms = now_ms;
            report.refilled = false;
            report.recent.clear();
        }
        self.full_since_ms = None;
        (self.on_trial(now_ms)).then(|| self.change(self.level - 1, now_ms))
    }

    fn on_trial(&self, now_ms: i64) -> bool {
        self.went_up && now_ms - self.changed_ms < TRIAL_MS
    }

    /// The member left, went offline or stopped sharing.
    pub fn forget(&mut self, member: &str) {
        self.reports.remove(member);
    }

    /// A sharing member's player ran dry while the room played: down a rung at once.
    pub fn ran_dry(&mut self, member: &str, now_ms: i64) -> Option<u32> {
        if !self.reports.contains_key(member) || self.level == 0 || now_ms - self.changed_ms < DOWN_EVERY_MS {
            return None;
        }
        Some(self.step_down(now_ms))
    }

    /// Looks at the buffers; the new level when it changed. Nothing is
    /// judged while the room does not play (paused, or waiting for someone).
    /// `origin_copies`: how many times the origin served each segment lately.
    pub fn decide(&mut self, playing: bool, origin_copies: f64, now_ms: i64) -> Option<u32> {
        let fresh: Vec<&Report> = self.reports.values().filter(|r| now_ms - r.at_ms <= FRESH_MS).collect();
        if !playing || fresh.is_empty() {
            self.full_since_ms = None;
            return None;
        }
        let on_trial = self.on_trial(now_ms);
        let low = if on_trial { TRIAL_LOW_SECS } else { LOW_SECS };
        let running_dry = fresh.iter().any(|r| r.ahead_secs < low && r.counts_when_low(now_ms));
        let draining = on_trial && fresh.iter().any(|r| r.draining(self.changed_ms, now_ms));
        if self.level > 0 && (running_dry || draining) && now_ms - self.changed_ms >= DOWN_EVERY_MS {
            return Some(self.step_down(now_ms));
        }
        // Nobody shows that much any more (the big screen left).
        let top = fresh.iter().map(|r| r.top_level).max().unwrap_or(0);
        if self.level > top {
            return Some(self.change(top, now_ms));
        }
        if fresh.iter().any(|r| r.ahead_secs < FULL_SECS) {
            self.full_since_ms = None;
            return None;
        }
        let full_since = *self.full_since_ms.get_or_insert(now_ms);
        let next = self.level + 1;
        let blocked_until = self.blocked.get(&next).map_or(i64::MIN, |(_, until)| *until);
        if next <= top
            && now_ms - full_since >= FULL_FOR_MS
            && now_ms - self.changed_ms >= UP_AFTER_MS
            && now_ms >= blocked_until
            && origin_copies <= MAX_ORIGIN_COPIES
        {
            return Some(self.change(next, now_ms));
        }
        None
    }

    fn step_down(&mut self, now_ms: i64) -> u32 {
        if self.on_trial(now_ms) {
            self.block(self.level, now_ms);
        }
        self.change(self.level - 1, now_ms)
    }

    fn change(&mut self, level: u32, now_ms: i64) -> u32 {
        self.went_up = level > self.level;
        self.level = level;
        self.changed_ms = now_ms;
        self.full_since_ms = None;
        level
    }

    fn block(&mut self, level: u32, now_ms: i64) {
        let (failures, until) = self.blocked.entry(level).or_insert((0, 0));
        let backoff = BACKOFF_MS.saturating_mul(1 << (*failures).min(8)).min(MAX_BACKOFF_MS);
        *failures += 1;
        *until = now_ms + backoff;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TOP: u32 = 2;

    /// Every member reports `ahead` each 2 s from `from` to `to` (ms) while
    /// the room plays; the levels the room went to, with when.
    fn run(
        rendition: &mut RoomRendition,
        members: &[&str],
        ahead: impl Fn(&str, i64) -> f64,
        from: i64,
        to: i64,
    ) -> Vec<(i64, u32)> {
        let mut changes = Vec::new();
        let mut now = from;
        while now <= to {
            if now % 2_000 == 0 {
                for member in members {
                    rendition.report(member, ahead(member, now), TOP, now);
                }
            }
            if let Some(level) = rendition.decide(true, 1.0, now) {
                changes.push((now, level));
            }
            now += 250;
        }
        changes
    }

    #[test]
    fn full_buffers_take_the_room_up_one_rung_at_a_time_to_the_top_shown() {
        let mut rendition = RoomRendition::default();
        let changes = run(&mut rendition, &["a", "b"], |_, _| 15.0, 0, 60_000);
        assert_eq!(changes.iter().map(|c| c.1).collect::<Vec<_>>(), [1, 2], "{changes:?}");
        assert!(changes[1].0 - changes[0].0 >= UP_AFTER_MS, "each rung is kept a while: {changes:?}");
    }

    #[test]
    fn one_member_short_of_full_keeps_the_room_where_it_is() {
        let mut rendition = RoomRendition::default();
        let changes = run(&mut rendition, &["a", "b"], |m, _| if m == "b" { 9.0 } else { 16.0 }, 0, 60_000);
        assert!(changes.is_empty(), "{changes:?}");
        assert_eq!(rendition.level(), 0);
    }

    #[test]
    fn full_buffers_while_paused_say_nothing() {
        let mut rendition = RoomRendition::default();
        for now in (0..60_000).step_by(250) {
            rendition.report("a", 15.0, TOP, now);
            assert_eq!(rendition.decide(false, 1.0, now), None);
        }
    }

    #[test]
    fn a_buffer_running_low_steps_down_and_the_rung_waits_before_it_is_tried_again() {
        let mut rendition = RoomRendition::default();
        let full = |_: &str, _: i64| 15.0;
        assert_eq!(run(&mut rendition, &["a", "b"], full, 0, 21_750), [(12_000, 1)]);
        // b's buffer drains at the new rung.
        let draining = |m: &str, _: i64| if m == "b" { 4.0 } else { 15.0 };
        assert_eq!(run(&mut rendition, &["a", "b"], draining, 22_000, 30_000), [(22_000, 0)], "down at once");
        // b refills; the rung it left stays out for the backoff, then is tried again.
        let retry_at = 22_000 + BACKOFF_MS;
        assert_eq!(run(&mut rendition, &["a", "b"], full, 30_250, retry_at - 250), []);
        assert_eq!(run(&mut rendition, &["a", "b"], full, retry_at, retry_at + 1_000), [(retry_at, 1)]);
    }

    #[test]
    fn a_buffer_refilling_after_a_join_or_a_seek_is_not_running_dry_and_stale_reports_say_nothing() {
        let mut rendition = RoomRendition { level: 2, ..RoomRendition::default() };
        rendition.report("joiner", 0.5, TOP, 0);
        assert_eq!(rendition.decide(true, 1.0, 1_000), None, "it just joined");
        assert_eq!(rendition.decide(true, 1.0, 7_000), None, "a report from 7 s ago");
        rendition.report("joiner", 0.5, TOP, 8_000);
        assert_eq!(rendition.decide(true, 1.0, 8_000), Some(1), "still nearly empty 8 s after it joined");
        assert_eq!(rendition.decide(true, 1.0, 9_000), None, "one step at a time");
        rendition.report("joiner", 15.0, TOP, 20_000);
        assert_eq!(rendition.refill(20_000), None, "no rung on trial");
        rendition.report("joiner", 1.0, TOP, 21_000);
        assert_eq!(rendition.decide(true, 1.0, 21_000), None, "the room seeked: it refills");
        rendition.report("joiner", 7.0, TOP, 23_000);
        rendition.report("joiner", 5.0, TOP, 25_000);
        assert_eq!(rendition.decide(true, 1.0, 25_000), Some(0), "refilled, then ran low");
    }

    #[test]
    fn the_room_stays_where_it_is_while_its_origin_serves_segments_more_than_about_once() {
        let mut rendition = RoomRendition::default();
        for now in (0..60_000).step_by(250) {
            rendition.report("a", 15.0, TOP, now);
            assert_eq!(rendition.decide(true, 2.2, now), None);
        }
        assert_eq!(rendition.decide(true, 1.0, 60_000), Some(1));
    }

    #[test]
    fn a_rung_on_trial_is_left_before_a_buffer_runs_low_and_a_sharer_running_dry_steps_down_at_once() {
        let mut rendition = RoomRendition::default();
        assert_eq!(run(&mut rendition, &["a"], |_, _| 15.0, 0, 15_750), [(12_000, 1)]);
        rendition.report("a", 8.0, TOP, 16_000);
        assert_eq!(rendition.decide(true, 1.0, 16_000), Some(0), "8 s ahead is already too little on trial");

        let mut rendition = RoomRendition::default();
        assert_eq!(run(&mut rendition, &["a"], |_, _| 15.0, 0, 12_000), [(12_000, 1)]);
        assert_eq!(rendition.refill(13_000), Some(0), "a seek leaves a rung on trial");
        let again = run(&mut rendition, &["a"], |_, _| 15.0, 14_000, 60_000);
        assert_eq!(again.first().map(|c| c.1), Some(1), "and tries it again when full, with no backoff: {again:?}");
        assert!(again[0].0 >= 13_000 + UP_AFTER_MS && again[0].0 < 40_000, "{again:?}");

        let mut rendition = RoomRendition { level: 2, ..RoomRendition::default() };
        rendition.report("a", 15.0, TOP, 0);
        assert_eq!(rendition.ran_dry("not-sharing", 10_000), None);
        assert_eq!(rendition.ran_dry("a", 10_000), Some(1));
        assert_eq!(rendition.ran_dry("a", 11_000), None, "one step at a time");
    }

    #[test]
    fn a_rung_on_trial_is_left_as_soon_as_a_buffer_drains_steadily_not_when_it_wavers() {
        let mut rendition = RoomRendition::default();
        assert_eq!(run(&mut rendition, &["a", "b"], |_, _| 15.0, 0, 12_000), [(12_000, 1)]);
        // At the new rung b's buffer falls 0.6 s a second (under 9 s at about 24 s); a's holds.
        let falling = |m: &str, now: i64| if m == "b" { 15.0 - (now - 12_000) as f64 * 0.000_6 } else { 15.0 };
        let changes = run(&mut rendition, &["a", "b"], falling, 12_250, 30_000);
        assert_eq!(changes.first().map(|c| c.1), Some(0), "{changes:?}");
        assert!(changes[0].0 <= 20_000, "left while the buffer still held 10 s or more: {changes:?}");

        let mut rendition = RoomRendition::default();
        assert_eq!(run(&mut rendition, &["a", "b"], |_, _| 15.0, 0, 12_000), [(12_000, 1)]);
        // b dips by 1.5 s every other report, as one slow segment does.
        let wavering = |m: &str, now: i64| if m == "b" && (now / 2_000) % 2 == 1 { 13.5 } else { 15.0 };
        let changes = run(&mut rendition, &["a", "b"], wavering, 12_250, 40_000);
        assert!(changes.iter().all(|c| c.1 >= 1), "{changes:?}");
    }

    #[test]
    fn the_room_goes_no_higher_than_its_biggest_screen_and_follows_it_down() {
        let mut rendition = RoomRendition::default();
        let mut now = 0;
        for _ in 0..200 {
            rendition.report("phone", 15.0, 0, now);
            rendition.report("laptop", 15.0, 1, now);
            rendition.decide(true, 1.0, now);
            now += 250;
        }
        assert_eq!(rendition.level(), 1);
        rendition.forget("laptop");
        assert_eq!(rendition.decide(true, 1.0, now), Some(0));
    }
}
