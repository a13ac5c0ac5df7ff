//! One peer's holdings in one swarm, as a bitset over sequence numbers: the
//! per-message operations (apply a delta, count a window) are word-at-a-time.

use cinemesh_protocol::SegmentRanges;

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Holdings {
    words: Vec<u64>,
}

impl Holdings {
    /// `limit` is the rendition's segment count: sequences at or past it are
    /// ignored, so no peer can make the tracker allocate for segments that do
    /// not exist.
    pub fn apply(&mut self, added: &SegmentRanges, dropped: &SegmentRanges, limit: u32) {
        for [start, end] in added.ranges() {
            self.set_range(*start, (*end).min(limit.saturating_sub(1)), true, limit);
        }
        for [start, end] in dropped.ranges() {
            self.set_range(*start, *end, false, limit);
        }
    }

    fn set_range(&mut self, start: u32, end: u32, value: bool, limit: u32) {
        if start >= limit || start > end {
            return;
        }
        let end = end.min(limit - 1);
        let needed = (end as usize / 64) + 1;
        if value && self.words.len() < needed {
            self.words.resize(needed, 0);
        }
        for seq in start..=end {
            let (word, bit) = (seq as usize / 64, seq % 64);
            let Some(w) = self.words.get_mut(word) else { break };
            if value {
                *w |= 1 << bit;
            } else {
                *w &= !(1 << bit);
            }
        }
    }

    pub fn contains(&self, seq: u32) -> bool {
        self.words.get(seq as usize / 64).is_some_and(|w| w & (1 << (seq % 64)) != 0)
    }

    /// The held sequences within `from ..= from + count - 1`.
    pub fn in_window(&self, from: u32, count: u32) -> SegmentRanges {
        SegmentRanges::from_sequences((from..from.saturating_add(count)).filter(|s| self.contains(*s)))
    }

    /// How many of `from ..= from + count - 1` are held.
    pub fn count_in_window(&self, from: u32, count: u32) -> u32 {
        (from..from.saturating_add(count)).filter(|s| self.contains(*s)).count() as u32
    }

    pub fn to_ranges(&self) -> SegmentRanges {
        SegmentRanges::from_sequences(
            self.words.iter().enumerate().flat_map(|(i, w)| {
                (0..64u32).filter(move |bit| w & (1 << bit) != 0).map(move |bit| i as u32 * 64 + bit)
            }),
        )
    }
}

#[cfg(test)]
impl Holdings {
    pub fn total(&self) -> u32 {
        self.words.iter().map(|w| w.count_ones()).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ranges(r: &[[u32; 2]]) -> SegmentRanges {
        SegmentRanges::from_sequences(r.iter().flat_map(|[s, e]| *s..=*e))
    }

    #[test]
    fn deltas_add_and_drop_segments() {
        let mut h = Holdings::default();
        h.apply(&ranges(&[[0, 9], [100, 110]]), &SegmentRanges::default(), 200);
        h.apply(&SegmentRanges::default(), &ranges(&[[5, 7]]), 200);
        assert_eq!(h.to_ranges().ranges(), &[[0, 4], [8, 9], [100, 110]]);
        assert_eq!(h.total(), 18);
    }

    #[test]
    fn windows_are_counted_and_listed() {
        let mut h = Holdings::default();
        h.apply(&ranges(&[[10, 14], [20, 20]]), &SegmentRanges::default(), 100);
        assert_eq!(h.count_in_window(12, 10), 4);
        assert_eq!(h.in_window(12, 10).ranges(), &[[12, 14], [20, 20]]);
        assert_eq!(h.count_in_window(50, 10), 0);
    }

    #[test]
    fn segments_past_the_rendition_are_ignored() {
        let mut h = Holdings::default();
        h.apply(&ranges(&[[0, 2]]), &SegmentRanges::default(), 60);
        h.apply(&SegmentRanges::new(vec![[59, 1_000_000]]).unwrap(), &SegmentRanges::default(), 60);
        assert_eq!(h.total(), 4);
        assert!(h.words.len() <= 1);
    }
}
