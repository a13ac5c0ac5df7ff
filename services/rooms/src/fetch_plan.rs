//! Who fetches which segment for the room. Members watch the same playhead,
//! so without a plan they would all fetch each new segment over HTTP at the
//! same moment, and nobody would have it first to share. The plan names one
//! member per segment; the others take it from that member over P2P. Members
//! get slots in proportion to their upload caps, interleaved (smooth weighted
//! round robin) so that no member fetches long runs of segments alone.

use std::collections::BTreeMap;

use cinemesh_protocol::room::{MAX_FETCH_WEIGHT, MemberId};

/// The upload cap that earns the most slots (the player's default), bytes/s.
const FULL_WEIGHT_CAP: f64 = 4_000_000.0;

/// One member's share: its upload cap (none: uncapped).
pub type UploadCap = Option<f64>;

fn weight(cap: UploadCap) -> u32 {
    let max = f64::from(MAX_FETCH_WEIGHT);
    match cap {
        Some(cap) if cap.is_finite() && cap > 0.0 => (max * cap / FULL_WEIGHT_CAP).round().clamp(1.0, max) as u32,
        Some(_) => 1,
        None => MAX_FETCH_WEIGHT,
    }
}

/// The slots of the plan for these sharing members (empty without any).
pub fn plan(sharers: &BTreeMap<MemberId, UploadCap>) -> Vec<MemberId> {
    let weights: Vec<(&MemberId, i64)> = sharers.iter().map(|(id, cap)| (id, i64::from(weight(*cap)))).collect();
    let total: i64 = weights.iter().map(|(_, w)| w).sum();
    let mut current = vec![0i64; weights.len()];
    let mut slots = Vec::with_capacity(total as usize);
    for _ in 0..total {
        for (c, (_, w)) in current.iter_mut().zip(&weights) {
            *c += w;
        }
        let Some(best) = (0..weights.len()).max_by_key(|&i| (current[i], std::cmp::Reverse(i))) else { break };
        current[best] -= total;
        slots.push(weights[best].0.clone());
    }
    // All weights equal: one round says it all.
    if slots.len() > weights.len() && weights.iter().all(|(_, w)| *w == weights[0].1) {
        slots.truncate(weights.len());
    }
    slots
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sharers(caps: &[(&str, UploadCap)]) -> BTreeMap<MemberId, UploadCap> {
        caps.iter().map(|(id, cap)| ((*id).to_owned(), *cap)).collect()
    }

    #[test]
    fn equal_sharers_take_turns() {
        let slots = plan(&sharers(&[("a", None), ("b", Some(4e6)), ("c", Some(9e9))]));
        assert_eq!(slots, ["a", "b", "c"]);
    }

    #[test]
    fn slots_follow_upload_caps_and_are_interleaved() {
        let slots = plan(&sharers(&[("a", None), ("b", Some(1e6))]));
        assert_eq!(slots.iter().filter(|s| *s == "a").count(), 4);
        assert_eq!(slots.iter().filter(|s| *s == "b").count(), 1);
        let slots = plan(&sharers(&[("a", None), ("b", Some(2e6))]));
        assert_eq!(slots, ["a", "b", "a", "a", "b", "a"], "no long runs");
    }

    #[test]
    fn nobody_sharing_means_no_plan_and_odd_caps_count_as_the_least() {
        assert!(plan(&BTreeMap::new()).is_empty());
        assert_eq!(weight(Some(f64::NAN)), 1);
        assert_eq!(weight(Some(-5.0)), 1);
        assert_eq!(weight(Some(1.0)), 1);
    }
}
