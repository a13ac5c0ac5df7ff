//! What tracker instances share through Redis. A swarm is a Redis hash,
//! `{prefix}swarm:{movie}:{rendition}`, with one field per peer holding a
//! `DirectoryEntry`, and a counter, `{prefix}swarm-version:{movie}:{rendition}`,
//! that every write to the hash increments after it, so that an instance
//! re-reads only the swarms another one changed. A signal for a peer on
//! another instance is published on that instance's channel,
//! `{prefix}instance:{id}`, as a `RelayedSignal`.

use serde::{Deserialize, Serialize};

use crate::SegmentRanges;
use crate::tracker::{PeerId, Signal, SwarmKey};

/// A peer as other instances see it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DirectoryEntry {
    /// The instance holding the peer's socket.
    pub instance: String,
    pub holdings: SegmentRanges,
    /// When the owning instance last vouched for the peer, Unix ms.
    pub seen_ms: i64,
}

/// Signalling on its way to the instance that holds the target's socket.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RelayedSignal {
    pub swarm: SwarmKey,
    pub from: PeerId,
    pub to: PeerId,
    pub signal: Signal,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lane: Option<u8>,
}

pub fn swarm_key(prefix: &str, swarm: &SwarmKey) -> String {
    format!("{prefix}swarm:{}:{}", swarm.movie, swarm.rendition)
}

pub fn swarm_version_key(prefix: &str, swarm: &SwarmKey) -> String {
    format!("{prefix}swarm-version:{}:{}", swarm.movie, swarm.rendition)
}

pub fn instance_channel(prefix: &str, instance: &str) -> String {
    format!("{prefix}instance:{instance}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_round_trip() {
        let entry =
            DirectoryEntry { instance: "i1".into(), holdings: SegmentRanges::from_sequences([1, 2]), seen_ms: 5 };
        let json = serde_json::to_string(&entry).unwrap();
        assert_eq!(serde_json::from_str::<DirectoryEntry>(&json).unwrap(), entry);
    }

    #[test]
    fn keys_are_namespaced_by_prefix() {
        let swarm = SwarmKey { movie: "m".into(), rendition: "720p".into() };
        assert_eq!(swarm_key("t1:", &swarm), "t1:swarm:m:720p");
        assert_eq!(swarm_version_key("t1:", &swarm), "t1:swarm-version:m:720p");
        assert_eq!(instance_channel("t1:", "abc"), "t1:instance:abc");
    }
}
