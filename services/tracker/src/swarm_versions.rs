//! Which swarms in Redis changed since this instance last read them.
//!
//! Every write to a swarm's hash is followed by an increment of the swarm's
//! version counter. An instance remembers the version whose contents it
//! knows; it re-reads a swarm only when the counter moved past that. Its own
//! writes do not count: when its increment returns exactly one more than the
//! version it knew, nobody else wrote in between, and what it wrote it
//! already knows. Re-reading every swarm every 500 ms made Redis mode cost
//! 1.5x the CPU of in-process mode on the party profile, all of it parsing
//! entries that had not changed.
//!
//! The counter is read before the hash, so a write that lands between the
//! two reads makes the next look re-read. Besides a new version, a swarm is
//! read again when one of the other instances' entries it held passes its
//! time to live (an instance that died writes nothing more), and at least
//! every `full_read_every`, which bounds how long a Redis restart whose
//! counters climbed back to the same numbers could go unseen.

use std::collections::HashMap;

use cinemesh_protocol::tracker::SwarmKey;

#[derive(Debug, Clone, Copy)]
struct Known {
    version: u64,
    read_ms: i64,
    /// When the oldest of the other instances' entries read then goes stale (none: never).
    stale_ms: i64,
}

#[derive(Debug)]
pub struct SwarmVersions {
    known: HashMap<SwarmKey, Known>,
    full_read_every_ms: i64,
}

impl SwarmVersions {
    pub fn new(full_read_every_ms: i64) -> Self {
        Self { known: HashMap::new(), full_read_every_ms }
    }

    /// Whether `swarm`, now at `version` (0: no counter), must be read.
    pub fn needs_read(&self, swarm: &SwarmKey, version: u64, now_ms: i64) -> bool {
        match self.known.get(swarm) {
            None => true,
            Some(known) => {
                known.version != version
                    || now_ms >= known.stale_ms
                    || now_ms - known.read_ms >= self.full_read_every_ms
            }
        }
    }

    /// `swarm` was read at `version` (the counter read before the hash); its
    /// oldest entry from another instance goes stale at `stale_ms`.
    pub fn read(&mut self, swarm: SwarmKey, version: u64, stale_ms: Option<i64>, now_ms: i64) {
        let stale_ms = stale_ms.unwrap_or(i64::MAX);
        self.known.insert(swarm, Known { version, read_ms: now_ms, stale_ms });
    }

    /// This instance wrote `swarm` and its increment returned `version`.
    pub fn wrote(&mut self, swarm: &SwarmKey, version: u64) {
        if let Some(known) = self.known.get_mut(swarm)
            && known.version + 1 == version
        {
            known.version = version;
        }
    }

    /// `swarm` has no local members any more, or has them again: a shard
    /// that takes it up afresh knows nothing of the other instances'
    /// members, so it is read whatever its version.
    pub fn forget(&mut self, swarm: &SwarmKey) {
        self.known.remove(swarm);
    }

    /// Redis failed: what was read may no longer be there (a restart
    /// without persistence loses it all), so everything is read again.
    pub fn forget_all(&mut self) {
        self.known.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn swarm(name: &str) -> SwarmKey {
        SwarmKey { movie: name.into(), rendition: "720p".into() }
    }

    const FULL: i64 = 15_000;

    #[test]
    fn an_unread_swarm_is_read() {
        assert!(SwarmVersions::new(FULL).needs_read(&swarm("m"), 0, 0));
    }

    #[test]
    fn an_unchanged_swarm_is_not_read_again_until_the_full_read() {
        let mut versions = SwarmVersions::new(FULL);
        versions.read(swarm("m"), 4, None, 1_000);
        assert!(!versions.needs_read(&swarm("m"), 4, 1_500));
        assert!(versions.needs_read(&swarm("m"), 5, 1_500), "another instance wrote");
        assert!(versions.needs_read(&swarm("m"), 4, 1_000 + FULL));
    }

    #[test]
    fn own_writes_do_not_make_a_swarm_stale() {
        let mut versions = SwarmVersions::new(FULL);
        versions.read(swarm("m"), 4, None, 0);
        versions.wrote(&swarm("m"), 5);
        versions.wrote(&swarm("m"), 6);
        assert!(!versions.needs_read(&swarm("m"), 6, 100));
    }

    #[test]
    fn a_write_by_another_instance_between_own_writes_is_seen() {
        let mut versions = SwarmVersions::new(FULL);
        versions.read(swarm("m"), 4, None, 0);
        // The other instance incremented to 5; this one's increment returns 6.
        versions.wrote(&swarm("m"), 6);
        assert!(versions.needs_read(&swarm("m"), 6, 100));
    }

    #[test]
    fn an_entry_past_its_time_to_live_makes_the_swarm_read_again() {
        let mut versions = SwarmVersions::new(FULL);
        versions.read(swarm("m"), 4, Some(2_000), 0);
        assert!(!versions.needs_read(&swarm("m"), 4, 1_999));
        assert!(versions.needs_read(&swarm("m"), 4, 2_000));
    }

    #[test]
    fn forgetting_makes_every_swarm_read_again() {
        let mut versions = SwarmVersions::new(FULL);
        versions.read(swarm("a"), 1, None, 0);
        versions.read(swarm("b"), 1, None, 0);
        versions.forget(&swarm("b"));
        assert!(!versions.needs_read(&swarm("a"), 1, 10));
        assert!(versions.needs_read(&swarm("b"), 1, 10));
        versions.forget_all();
        assert!(versions.needs_read(&swarm("a"), 1, 10));
    }
}
