//! Which segments of a rendition a peer holds, as sorted, disjoint, inclusive
//! ranges of sequence numbers: `[[0, 49], [120, 130]]`. A viewer's cache is a
//! window or two around the playhead, so this is a handful of numbers where a
//! bitmap of a two-hour movie would be hundreds of bytes.

use serde::{Deserialize, Serialize};
use ts_rs::TS;

/// Highest sequence number accepted: 2^20 segments of 2 s is 24 days of video.
pub const MAX_SEQUENCE: u32 = (1 << 20) - 1;
/// Most ranges one message may carry; more fragmented holdings are refused.
pub const MAX_RANGES: usize = 256;

/// Always canonical: deserializing checks bounds, sorts and merges, so code
/// that holds a `SegmentRanges` never validates it again.
#[derive(Debug, Clone, PartialEq, Eq, Default, TS)]
#[ts(type = "Array<[number, number]>")]
pub struct SegmentRanges(Vec<[u32; 2]>);

impl Serialize for SegmentRanges {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.0.serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for SegmentRanges {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Self::new(Vec::<[u32; 2]>::deserialize(deserializer)?).map_err(serde::de::Error::custom)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RangesError {
    TooMany,
    Inverted,
    OutOfBounds,
}

impl std::error::Error for RangesError {}

impl std::fmt::Display for RangesError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::TooMany => "too many ranges",
            Self::Inverted => "a range ends before it starts",
            Self::OutOfBounds => "a sequence number is out of bounds",
        })
    }
}

impl SegmentRanges {
    /// Checks bounds and puts the ranges in canonical form (sorted, merged).
    pub fn new(mut ranges: Vec<[u32; 2]>) -> Result<Self, RangesError> {
        if ranges.len() > MAX_RANGES {
            return Err(RangesError::TooMany);
        }
        for [start, end] in &ranges {
            if start > end {
                return Err(RangesError::Inverted);
            }
            if *end > MAX_SEQUENCE {
                return Err(RangesError::OutOfBounds);
            }
        }
        ranges.sort_unstable();
        let mut merged: Vec<[u32; 2]> = Vec::with_capacity(ranges.len());
        for [start, end] in ranges {
            match merged.last_mut() {
                Some(last) if start <= last[1].saturating_add(1) => last[1] = last[1].max(end),
                _ => merged.push([start, end]),
            }
        }
        Ok(Self(merged))
    }

    pub fn from_sequences(sequences: impl IntoIterator<Item = u32>) -> Self {
        let mut merged: Vec<[u32; 2]> = Vec::new();
        let mut sorted: Vec<u32> = sequences.into_iter().filter(|s| *s <= MAX_SEQUENCE).collect();
        sorted.sort_unstable();
        for s in sorted {
            match merged.last_mut() {
                Some(last) if s <= last[1].saturating_add(1) => last[1] = last[1].max(s),
                _ => merged.push([s, s]),
            }
        }
        Self(merged)
    }

    pub fn ranges(&self) -> &[[u32; 2]] {
        &self.0
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Every sequence number covered, in order.
    pub fn iter(&self) -> impl Iterator<Item = u32> + '_ {
        self.0.iter().flat_map(|[start, end]| *start..=*end)
    }

    pub fn count(&self) -> u64 {
        self.0.iter().map(|[s, e]| u64::from(e - s) + 1).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalizing_sorts_and_merges_touching_ranges() {
        let ranges = SegmentRanges::new(vec![[10, 12], [0, 3], [4, 5], [11, 20]]).unwrap();
        assert_eq!(ranges.ranges(), &[[0, 5], [10, 20]]);
        assert_eq!(ranges.count(), 17);
    }

    #[test]
    fn bad_ranges_are_refused() {
        assert_eq!(SegmentRanges::new(vec![[5, 4]]), Err(RangesError::Inverted));
        assert_eq!(SegmentRanges::new(vec![[0, MAX_SEQUENCE + 1]]), Err(RangesError::OutOfBounds));
        assert_eq!(SegmentRanges::new(vec![[0, 0]; MAX_RANGES + 1]), Err(RangesError::TooMany));
    }

    #[test]
    fn invalid_ranges_fail_to_deserialize() {
        assert!(serde_json::from_str::<SegmentRanges>("[[5,4]]").is_err());
        assert_eq!(serde_json::from_str::<SegmentRanges>("[[4,5],[0,4]]").unwrap().ranges(), &[[0, 5]]);
    }

    #[test]
    fn sequences_round_trip_through_ranges() {
        let ranges = SegmentRanges::from_sequences([7, 1, 2, 3, 9, 8]);
        assert_eq!(ranges.ranges(), &[[1, 3], [7, 9]]);
        assert_eq!(ranges.iter().collect::<Vec<_>>(), [1, 2, 3, 7, 8, 9]);
        assert_eq!(serde_json::to_string(&ranges).unwrap(), "[[1,3],[7,9]]");
    }
}
