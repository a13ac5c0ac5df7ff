//! What the origin serves a room at. Members report the segments they
//! fetched over HTTP; the room's origin throughput is their bytes over the
//! time at least one of them was under way (the union of their intervals).
//! Members fetch at once or one after another: the union counts the
//! origin's busy time either way, where one member's throughput would read
//! its share of six concurrent fetches as all the origin can do.

use std::collections::{HashSet, VecDeque};

use cinemesh_protocol::room::{MAX_FETCHED_SEGMENT_CHARS, OriginFetch};

/// Fetches that ended this long ago no longer count, ms.
const WINDOW_MS: f64 = 30_000.0;
/// Fetches kept at most (a room of fifty fetching a segment a second for the window).
const MAX_KEPT: usize = 1_500;
/// Below this many bytes the figure says more about latency than throughput.
const MIN_BYTES: f64 = 256_000.0;
/// Longest a reported fetch may take, ms: beyond it a report is nonsense.
pub const MAX_FETCH_MS: f64 = 120_000.0;
/// Largest segment a fetch may report, bytes.
pub const MAX_FETCH_BYTES: f64 = 64.0 * 1024.0 * 1024.0;
/// How far a new figure must move from the one the room last gave out before
/// it replaces it: every fetch moves the measure a little, and each new
/// figure is a health message to every member.
const REPUBLISH_CHANGE: f64 = 0.2;

/// The figure the room gives out, given the one it gave out last and a new
/// measure: the new one only when it moved far enough, and never none again
/// once there was one (a paused room fetches nothing, its origin is the same).
pub fn published(last: Option<f64>, measured: Option<f64>) -> Option<f64> {
    match (last, measured) {
        (Some(last), Some(now)) if (now - last).abs() <= last * REPUBLISH_CHANGE => Some(last),
        (last, None) => last,
        (_, now) => now,
    }
}

#[derive(Default)]
pub struct OriginLoad {
    fetches: VecDeque<OriginFetch>,
}

/// Whether a reported fetch is one a member could have made by `now_ms`.
pub fn plausible(fetch: &OriginFetch, now_ms: f64) -> bool {
    let OriginFetch { start_ms, end_ms, bytes, ref segment } = *fetch;
    segment.as_ref().is_none_or(|s| !s.is_empty() && s.chars().count() <= MAX_FETCHED_SEGMENT_CHARS)
        && [start_ms, end_ms, bytes].iter().all(|v| v.is_finite())
        && (0.0..=MAX_FETCH_BYTES).contains(&bytes)
        && (0.0..=MAX_FETCH_MS).contains(&(end_ms - start_ms))
        && (end_ms - now_ms).abs() <= MAX_FETCH_MS
}

impl OriginLoad {
    pub fn record(&mut self, fetch: OriginFetch) {
        if self.fetches.len() == MAX_KEPT {
            self.fetches.pop_front();
        }
        self.fetches.push_back(fetch);
    }

    fn forget_before(&mut self, ms: f64) {
        self.fetches.retain(|f| f.end_ms >= ms);
    }

    /// How many times the origin served each segment over the window ending
    /// at `now_ms`: the members' fetches against the segments of the window,
    /// those of `segment_secs` one viewer plays in it, or more where the
    /// fetches named more. After a start or a seek every member fills its
    /// buffer faster than it plays: counted against the segments played
    /// alone, a room whose origin served each segment once read as 1.5
    /// copies for the 30 s after, and could not go up a rendition.
    pub fn copies_per_segment(&mut self, now_ms: f64, segment_secs: f64) -> f64 {
        self.forget_before(now_ms - WINDOW_MS);
        let played = WINDOW_MS / 1000.0 / segment_secs;
        let named: HashSet<&str> = self.fetches.iter().filter_map(|f| f.segment.as_deref()).collect();
        self.fetches.len() as f64 / played.max(named.len() as f64)
    }

    /// Bytes per second over the window ending at `now_ms` (none: too little measured).
    pub fn bytes_per_sec(&mut self, now_ms: f64) -> Option<f64> {
        self.forget_before(now_ms - WINDOW_MS);
        let bytes: f64 = self.fetches.iter().map(|f| f.bytes).sum();
        if bytes < MIN_BYTES {
            return None;
        }
        let mut spans: Vec<(f64, f64)> = self.fetches.iter().map(|f| (f.start_ms, f.end_ms)).collect();
        spans.sort_by(|a, b| a.0.total_cmp(&b.0));
        let mut busy_ms = 0.0;
        let mut open: Option<(f64, f64)> = None;
        for (start, end) in spans {
            open = match open {
                Some((s, e)) if start <= e => Some((s, e.max(end))),
                Some((s, e)) => {
                    busy_ms += e - s;
                    Some((start, end))
                }
                None => Some((start, end)),
            };
        }
        busy_ms += open.map_or(0.0, |(s, e)| e - s);
        // Three significant figures: the health message goes out only when something changed.
        (busy_ms > 0.0).then(|| round_to_3_figures(bytes * 1000.0 / busy_ms))
    }
}

fn round_to_3_figures(value: f64) -> f64 {
    let scale = 10f64.powi(value.abs().log10().floor() as i32 - 2);
    (value / scale).round() * scale
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fetch(start_ms: f64, end_ms: f64, bytes: f64) -> OriginFetch {
        OriginFetch { start_ms, end_ms, bytes, segment: None }
    }

    #[test]
    fn concurrent_fetches_add_up_to_the_origin_rate() {
        let mut load = OriginLoad::default();
        // Six members fetch 250 kB each at once from a 500 kB/s origin: each sees 83 kB/s.
        for _ in 0..6 {
            load.record(fetch(1_000.0, 4_000.0, 250_000.0));
        }
        assert_eq!(load.bytes_per_sec(5_000.0), Some(500_000.0));
    }

    #[test]
    fn copies_per_segment_count_the_window_s_fetches_against_the_segments_played_in_it() {
        let mut load = OriginLoad::default();
        // 30 s of 2 s segments is 15; 30 fetches in the window, and one older.
        load.record(fetch(0.0, 1_000.0, 100_000.0));
        for i in 0..30 {
            load.record(fetch(10_000.0 + f64::from(i) * 1_000.0, 11_000.0 + f64::from(i) * 1_000.0, 100_000.0));
        }
        assert_eq!(load.copies_per_segment(40_000.0, 2.0), 2.0);
    }

    #[test]
    fn a_buffer_filled_faster_than_it_plays_counts_each_segment_it_named_once() {
        let mut load = OriginLoad::default();
        // After a start, 23 segments (46 s) fetched in 30 s, each once, and one of them twice.
        for i in 0..23 {
            let at = 10_000.0 + f64::from(i) * 1_000.0;
            load.record(OriginFetch { segment: Some(format!("240p/{i}")), ..fetch(at, at + 900.0, 100_000.0) });
        }
        load.record(OriginFetch { segment: Some("240p/3".into()), ..fetch(20_000.0, 21_000.0, 100_000.0) });
        assert_eq!(load.copies_per_segment(40_000.0, 2.0), 24.0 / 23.0);
        // Fewer named than played: against the played ones, as without names.
        let mut load = OriginLoad::default();
        for i in 0..10 {
            let at = 10_000.0 + f64::from(i) * 1_000.0;
            load.record(OriginFetch { segment: Some(format!("240p/{}", i % 5)), ..fetch(at, at + 900.0, 100_000.0) });
        }
        assert_eq!(load.copies_per_segment(40_000.0, 2.0), 10.0 / 15.0);
    }

    #[test]
    fn a_segment_name_that_is_empty_or_too_long_is_not_plausible() {
        let ok = OriginFetch { segment: Some("480p/12".into()), ..fetch(1_000.0, 2_000.0, 1_000.0) };
        assert!(plausible(&ok, 3_000.0));
        assert!(!plausible(&OriginFetch { segment: Some(String::new()), ..ok.clone() }, 3_000.0));
        assert!(!plausible(&OriginFetch { segment: Some("x".repeat(MAX_FETCHED_SEGMENT_CHARS + 1)), ..ok }, 3_000.0));
    }

    #[test]
    fn fetches_one_after_another_count_only_busy_time() {
        let mut load = OriginLoad::default();
        load.record(fetch(0.0, 1_000.0, 500_000.0));
        load.record(fetch(500.0, 2_000.0, 500_000.0));
        // Idle from 2 s to 10 s: the origin was not asked, so that time says nothing.
        load.record(fetch(10_000.0, 11_000.0, 500_000.0));
        assert_eq!(load.bytes_per_sec(12_000.0), Some(500_000.0));
    }

    #[test]
    fn too_little_or_too_old_measures_nothing() {
        let mut load = OriginLoad::default();
        load.record(fetch(0.0, 100.0, 100_000.0));
        assert_eq!(load.bytes_per_sec(200.0), None);
        load.record(fetch(0.0, 1_000.0, 400_000.0));
        assert!(load.bytes_per_sec(2_000.0).is_some());
        assert_eq!(load.bytes_per_sec(40_000.0), None, "the window moved past them");
    }

    #[test]
    fn nonsense_reports_are_not_plausible() {
        let now = 1_000_000.0;
        assert!(plausible(&fetch(now - 2_000.0, now - 1_000.0, 300_000.0), now));
        assert!(!plausible(&fetch(now, now - 1.0, 10.0), now), "ends before it starts");
        assert!(!plausible(&fetch(now - 1.0, now, f64::NAN), now));
        assert!(!plausible(&fetch(now - 1.0, now, -1.0), now));
        assert!(!plausible(&fetch(now - 1.0, now, 1e12), now));
        assert!(!plausible(&fetch(0.0, 1.0, 10.0), now), "long before now");
    }

    #[test]
    fn the_given_out_figure_moves_only_when_the_measure_moves_far() {
        assert_eq!(published(None, None), None);
        assert_eq!(published(None, Some(400_000.0)), Some(400_000.0));
        assert_eq!(published(Some(400_000.0), Some(460_000.0)), Some(400_000.0), "within 20 %");
        assert_eq!(published(Some(400_000.0), Some(300_000.0)), Some(300_000.0));
        assert_eq!(published(Some(400_000.0), Some(500_000.0)), Some(500_000.0));
        assert_eq!(published(Some(400_000.0), None), Some(400_000.0), "nothing measured: the last figure stands");
    }

    #[test]
    fn figures_are_rounded_to_three_significant_digits() {
        assert_eq!(round_to_3_figures(123_456.0), 123_000.0);
        assert_eq!(round_to_3_figures(987.6), 988.0);
    }
}
