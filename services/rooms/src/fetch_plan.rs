//! Who fetches which segment for the room. Members watch the same playhead,
//! so without a plan they would all fetch each new segment over HTTP at the
//! same moment, and nobody would have it first to share. The plan names one
//! member per segment; the others take it from that member over P2P. Members
//! get slots in proportion to their upload caps, interleaved (smooth weighted
//! round robin) so that no member fetches long runs of segments alone.
//!
//! Only the members whose players failed to link to the fewest peers (or one
//! more) fetch: behind some pairs of NATs (port-restricted and symmetric,
//! symmetric and symmetric) no direct connection gets through, and a segment
//! fetched by a member others cannot reach went to HTTP again for each of
//! them. Members behind a full-cone NAT, or none, are reachable by everyone.
//! One failure more is let through: a link that took too long to open over a
//! busy uplink once left a single member fetching (and uploading) everything.

//!
//! Members who play the same audio rendition (a movie whose audio tracks are
//! renditions of their own) share its fetching the same way, among them: the
//! others of the room never load it. One listener alone has no plan for it.

use std::collections::BTreeMap;

use cinemesh_protocol::room::{AudioFetchPlan, MAX_FETCH_WEIGHT, MemberId};

/// The upload cap that earns the most slots (the player's default), bytes/s.
const FULL_WEIGHT_CAP: f64 = 4_000_000.0;

/// One sharing member, as it last said.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Sharer {
    /// Its upload cap, bytes/s (none: uncapped).
    pub upload_cap: Option<f64>,
    /// Peers it tried to link to lately and could not.
    pub unreachable_peers: u32,
    /// Its id on the movie's tracker, once it said.
    pub peer: Option<String>,
    /// The audio rendition its player loads beside the video, if any.
    pub audio: Option<String>,
}

/// The room's plans: the video's, and one per audio rendition several play.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FetchPlans {
    pub slots: Vec<MemberId>,
    /// The tracker ids of the members in `slots`.
    pub fetchers: Vec<String>,
    pub audio: BTreeMap<String, AudioFetchPlan>,
}

/// Every plan of the room for these sharing members.
pub fn plans(sharers: &BTreeMap<MemberId, Sharer>) -> FetchPlans {
    let slots = plan(sharers);
    let video_fetchers = fetchers(&slots, sharers);
    let mut listeners: BTreeMap<&str, BTreeMap<MemberId, Sharer>> = BTreeMap::new();
    for (id, sharer) in sharers {
        if let Some(audio) = &sharer.audio {
            listeners.entry(audio).or_default().insert(id.clone(), sharer.clone());
        }
    }
    let audio = listeners
        .into_iter()
        .filter(|(_, listeners)| listeners.len() > 1)
        .map(|(rendition, listeners)| {
            let slots = plan(&listeners);
            let fetchers = fetchers(&slots, &listeners);
            (rendition.to_owned(), AudioFetchPlan { slots, fetchers })
        })
        .collect();
    FetchPlans { slots, fetchers: video_fetchers, audio }
}

/// An upload cap (none: uncapped).
type UploadCap = Option<f64>;

fn weight(cap: UploadCap) -> u32 {
    let max = f64::from(MAX_FETCH_WEIGHT);
    match cap {
        Some(cap) if cap.is_finite() && cap > 0.0 => (max * cap / FULL_WEIGHT_CAP).round().clamp(1.0, max) as u32,
        Some(_) => 1,
        None => MAX_FETCH_WEIGHT,
    }
}

/// The slots of the plan for these sharing members (empty without any).
pub fn plan(sharers: &BTreeMap<MemberId, Sharer>) -> Vec<MemberId> {
    let fewest_failures = sharers.values().map(|s| s.unreachable_peers).min().unwrap_or(0);
    let weights: Vec<(&MemberId, i64)> = sharers
        .iter()
        .filter(|(_, s)| s.unreachable_peers <= fewest_failures.saturating_add(1))
        .map(|(id, s)| (id, i64::from(weight(s.upload_cap))))
        .collect();
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

/// The tracker ids of the members in `slots`, once each, in slot order: the
/// others link to them before the movie starts, so that the first segments
/// they fetch for the room can cross at once.
pub fn fetchers(slots: &[MemberId], sharers: &BTreeMap<MemberId, Sharer>) -> Vec<String> {
    let mut peers: Vec<String> = Vec::new();
    for peer in slots.iter().filter_map(|id| sharers.get(id)?.peer.as_ref()) {
        if !peers.contains(peer) {
            peers.push(peer.clone());
        }
    }
    peers
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sharers(caps: &[(&str, UploadCap)]) -> BTreeMap<MemberId, Sharer> {
        caps.iter().map(|(id, cap)| ((*id).to_owned(), Sharer { upload_cap: *cap, ..Sharer::default() })).collect()
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
    fn members_everyone_can_reach_fetch_for_the_room() {
        let mut room = sharers(&[("cone", None), ("cone2", Some(1e6)), ("restricted", None), ("symmetric", None)]);
        room.get_mut("restricted").unwrap().unreachable_peers = 2;
        room.get_mut("symmetric").unwrap().unreachable_peers = 3;
        let slots = plan(&room);
        assert!(slots.iter().all(|s| s.starts_with("cone")), "{slots:?}");
        assert_eq!(slots.iter().filter(|s| *s == "cone").count(), 4, "caps still weigh: {slots:?}");
        room.get_mut("cone2").unwrap().unreachable_peers = 1;
        assert!(plan(&room).contains(&"cone2".to_owned()), "one failure more is let through");
        // Nobody reaches everyone: those who reach the most (or one fewer) fetch.
        room.get_mut("cone").unwrap().unreachable_peers = 5;
        room.get_mut("cone2").unwrap().unreachable_peers = 4;
        assert_eq!(plan(&room), ["restricted", "symmetric"]);
    }

    #[test]
    fn nobody_sharing_means_no_plan_and_odd_caps_count_as_the_least() {
        assert!(plan(&BTreeMap::new()).is_empty());
        assert_eq!(weight(Some(f64::NAN)), 1);
        assert_eq!(weight(Some(-5.0)), 1);
        assert_eq!(weight(Some(1.0)), 1);
    }

    #[test]
    fn fetchers_are_the_tracker_ids_of_the_members_in_the_slots_once_each() {
        let mut room = sharers(&[("a", None), ("b", Some(1e6)), ("c", None)]);
        room.get_mut("a").unwrap().peer = Some("peer-a".into());
        room.get_mut("b").unwrap().peer = Some("peer-b".into());
        room.get_mut("c").unwrap().unreachable_peers = 3;
        room.get_mut("c").unwrap().peer = Some("peer-c".into());
        let slots = plan(&room);
        assert_eq!(slots.iter().filter(|s| *s == "a").count(), 4);
        assert_eq!(fetchers(&slots, &room), ["peer-a", "peer-b"], "c does not fetch; a is named once");
        room.get_mut("b").unwrap().peer = None;
        assert_eq!(fetchers(&slots, &room), ["peer-a"], "a member that named no id is left out");
    }

    #[test]
    fn listeners_of_one_audio_rendition_share_its_fetching_among_them() {
        let mut room = sharers(&[("a", None), ("b", Some(1e6)), ("c", None), ("d", None)]);
        for (id, audio) in [("a", "audio-en"), ("b", "audio-en"), ("c", "audio-fr")] {
            room.get_mut(id).unwrap().audio = Some(audio.into());
            room.get_mut(id).unwrap().peer = Some(format!("peer-{id}"));
        }
        let room_plans = plans(&room);
        assert_eq!(room_plans.slots, plan(&room), "the video's plan takes every sharer");
        assert_eq!(room_plans.audio.keys().collect::<Vec<_>>(), ["audio-en"], "one listener alone has no plan");
        let english = &room_plans.audio["audio-en"];
        assert!(english.slots.iter().all(|s| s == "a" || s == "b"), "{english:?}");
        assert_eq!(english.slots.iter().filter(|s| *s == "a").count(), 4, "caps weigh: {english:?}");
        assert_eq!(english.fetchers, ["peer-a", "peer-b"]);
        // The listeners' reachability counts among them alone.
        room.get_mut("c").unwrap().audio = Some("audio-en".into());
        room.get_mut("a").unwrap().unreachable_peers = 3;
        let english = &plans(&room).audio["audio-en"];
        assert!(!english.slots.contains(&"a".to_owned()), "{english:?}");
        assert!(english.slots.contains(&"c".to_owned()), "{english:?}");
    }
}
