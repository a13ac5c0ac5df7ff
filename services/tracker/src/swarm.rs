//! A swarm's members and the ranking of holders. Pure state: the task that
//! owns the swarm calls into it; nothing here waits or sends.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use cinemesh_protocol::SegmentRanges;
use cinemesh_protocol::tracker::{Holder, MAX_PEERS_PER_ANSWER, MAX_WINDOW, PeerId};

use crate::holdings::Holdings;
use crate::reports::{self, ReportBook};

/// How long a recommendation counts towards a peer's load.
const LOAD_WINDOW: Duration = Duration::from_secs(10);

#[derive(Debug)]
pub struct Member {
    /// `None` for peers connected here; the instance id for peers elsewhere.
    pub instance: Option<String>,
    pub holdings: Holdings,
    pub last_active: Instant,
    /// Times this peer was named to others within the current load window.
    recommended: u32,
    load_window_start: Instant,
    /// Its network, contacts and the reports it filed and received.
    reports: ReportBook,
}

/// Cumulative bytes a peer reported for this swarm (recorded in the database).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TransferStats {
    pub http_bytes: u64,
    pub peer_bytes: u64,
    pub uploaded_bytes: u64,
}

/// The fastest a peer can move bytes on any one counter, bytes/s (1 Gbit/s).
/// Reports beyond what this allows since the connection opened are refused,
/// so no client can poison the figures or overflow the sums built on them.
pub const MAX_REPORTED_BYTES_PER_SEC: u64 = 125_000_000;
/// Slack for counters carried over from before a reconnect, bytes.
pub const REPORTED_BYTES_SLACK: u64 = 20_000_000_000;

impl TransferStats {
    /// Whether these counters can follow `before` on a connection open for
    /// `open_secs`: none goes down, none is beyond what the link could carry.
    pub fn plausible_after(&self, before: &TransferStats, open_secs: u64) -> bool {
        let most =
            open_secs.saturating_add(1).saturating_mul(MAX_REPORTED_BYTES_PER_SEC).saturating_add(REPORTED_BYTES_SLACK);
        let pairs = [
            (self.http_bytes, before.http_bytes),
            (self.peer_bytes, before.peer_bytes),
            (self.uploaded_bytes, before.uploaded_bytes),
        ];
        pairs.iter().all(|&(now, then)| now >= then && now <= most)
    }
}

impl Member {
    fn new(instance: Option<String>, holdings: Holdings, now: Instant) -> Self {
        Self {
            instance,
            holdings,
            last_active: now,
            recommended: 0,
            load_window_start: now,
            reports: ReportBook::default(),
        }
    }

    fn load(&self, now: Instant) -> u32 {
        if now.duration_since(self.load_window_start) > LOAD_WINDOW { 0 } else { self.recommended }
    }

    fn count_recommendation(&mut self, now: Instant) {
        if now.duration_since(self.load_window_start) > LOAD_WINDOW {
            self.load_window_start = now;
            self.recommended = 0;
        }
        self.recommended += 1;
    }
}

#[derive(Debug)]
pub struct Swarm {
    /// Segments in the rendition: holdings past it are ignored.
    segment_count: u32,
    members: HashMap<PeerId, Member>,
    /// Reports filed per reporter network (see `reports`).
    filed_by_network: HashMap<String, u32>,
}

impl Swarm {
    pub fn new(segment_count: u32) -> Self {
        Self { segment_count, members: HashMap::new(), filed_by_network: HashMap::new() }
    }

    pub fn len(&self) -> usize {
        self.members.len()
    }

    /// Holdings of the members connected here, for snapshots.
    pub fn local_holdings(&self) -> impl Iterator<Item = (&PeerId, &crate::holdings::Holdings)> {
        self.members.iter().filter(|(_, m)| m.instance.is_none()).map(|(peer, m)| (peer, &m.holdings))
    }

    pub fn contains(&self, peer: &str) -> bool {
        self.members.contains_key(peer)
    }

    pub fn join(&mut self, peer: PeerId, holdings: &SegmentRanges, now: Instant) {
        let mut held = Holdings::default();
        held.apply(holdings, &SegmentRanges::default(), self.segment_count);
        self.members.insert(peer, Member::new(None, held, now));
    }

    /// Replaces the members connected to other instances with `view`.
    pub fn set_remote(&mut self, view: Vec<(PeerId, String, SegmentRanges)>, now: Instant) {
        let listed: std::collections::HashSet<&PeerId> = view.iter().map(|(peer, ..)| peer).collect();
        self.members.retain(|peer, m| m.instance.is_none() || listed.contains(peer));
        let limit = self.segment_count;
        for (peer, instance, ranges) in view {
            let member = self
                .members
                .entry(peer)
                .or_insert_with(|| Member::new(Some(instance.clone()), Holdings::default(), now));
            if member.instance.is_none() {
                continue; // A local peer is known first-hand.
            }
            let mut holdings = Holdings::default();
            holdings.apply(&ranges, &SegmentRanges::default(), limit);
            member.holdings = holdings;
            member.instance = Some(instance);
        }
    }

    /// The instance of a member connected elsewhere.
    pub fn remote_instance(&self, peer: &str) -> Option<&str> {
        self.members.get(peer).and_then(|m| m.instance.as_deref())
    }

    /// The current holdings of a member, as ranges.
    pub fn ranges_of(&self, peer: &str) -> Option<SegmentRanges> {
        self.members.get(peer).map(|m| m.holdings.to_ranges())
    }

    pub fn leave(&mut self, peer: &str) -> Option<Member> {
        self.members.remove(peer)
    }

    /// Applies a holdings delta; false when the peer is not a member.
    pub fn have(&mut self, peer: &str, added: &SegmentRanges, dropped: &SegmentRanges, now: Instant) -> bool {
        let limit = self.segment_count;
        self.members
            .get_mut(peer)
            .map(|m| {
                m.holdings.apply(added, dropped, limit);
                m.last_active = now;
            })
            .is_some()
    }

    /// Records that `reporter` caught `reported` misbehaving; false when
    /// either is not a member or the report is a repeat. How much it counts:
    /// see `reports`.
    pub fn report(&mut self, reporter: &str, reported: &str) -> bool {
        if reporter == reported {
            return false;
        }
        let Some(book) = self.members.get_mut(reporter).map(|m| std::mem::take(&mut m.reports)) else {
            return false;
        };
        let filed_by_network = &mut self.filed_by_network;
        let filed = self
            .members
            .get_mut(reported)
            .is_some_and(|m| reports::file(&book, reporter, &mut m.reports, reported, filed_by_network));
        if let Some(member) = self.members.get_mut(reporter) {
            member.reports = book;
        }
        filed
    }

    /// The network a member connected from, to count distinct reporters.
    pub fn set_network(&mut self, peer: &str, network: Option<String>) {
        if let Some(member) = self.members.get_mut(peer) {
            member.reports.network = network;
        }
    }

    /// `from` sent `to` a signal through this tracker (both ways: the two
    /// negotiated a connection, and data could flow).
    pub fn signalled(&mut self, from: &str, to: &str) {
        if let Some(member) = self.members.get_mut(from) {
            member.reports.sent_to(to);
        }
        if let Some(member) = self.members.get_mut(to) {
            member.reports.heard_from(from);
        }
    }

    pub fn touch(&mut self, peer: &str, now: Instant) {
        if let Some(m) = self.members.get_mut(peer) {
            m.last_active = now;
        }
    }

    /// The best holders of `from ..= from + count - 1` for `asker`: most of the
    /// window first, then least loaded, then most recently active; never the
    /// asker, never a peer holding none of it, never a peer the asker reported
    /// or that too many reported. Named peers count as loaded.
    pub fn holders(&mut self, asker: &str, from: u32, count: u32, limit: u32, now: Instant) -> Vec<Holder> {
        let count = count.min(MAX_WINDOW);
        let limit = limit.clamp(1, MAX_PEERS_PER_ANSWER) as usize;
        let mut candidates: Vec<(&PeerId, u32, u32, Instant)> = self
            .members
            .iter()
            .filter(|(peer, m)| peer.as_str() != asker && m.reports.trusted_by(asker))
            .map(|(peer, m)| (peer, m.holdings.count_in_window(from, count), m.load(now), m.last_active))
            .filter(|(_, held, _, _)| *held > 0)
            .collect();
        candidates.sort_by(|a, b| b.1.cmp(&a.1).then(a.2.cmp(&b.2)).then(b.3.cmp(&a.3)).then(a.0.cmp(b.0)));
        let chosen: Vec<PeerId> = candidates.into_iter().take(limit).map(|(peer, ..)| peer.clone()).collect();
        chosen
            .into_iter()
            .filter_map(|peer| {
                let member = self.members.get_mut(&peer)?;
                member.count_recommendation(now);
                let holds = member.holdings.in_window(from, count);
                Some(Holder { peer, holds })
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reported_counters_only_grow_and_no_faster_than_a_link() {
        let before = TransferStats { http_bytes: 100, peer_bytes: 50, uploaded_bytes: 0 };
        let grown = TransferStats { http_bytes: 200, ..before };
        assert!(grown.plausible_after(&before, 0));
        assert!(!before.plausible_after(&grown, 10), "a counter went down");
        let huge = TransferStats { uploaded_bytes: u64::MAX, ..before };
        assert!(!huge.plausible_after(&before, 3600));
        let hour = 3600 * MAX_REPORTED_BYTES_PER_SEC;
        let fast = TransferStats { peer_bytes: hour, ..before };
        assert!(fast.plausible_after(&before, 3600) && !fast.plausible_after(&before, 60));
    }

    fn held(seqs: std::ops::RangeInclusive<u32>) -> SegmentRanges {
        SegmentRanges::from_sequences(seqs)
    }

    fn names(holders: &[Holder]) -> Vec<&str> {
        holders.iter().map(|h| h.peer.as_str()).collect()
    }

    #[test]
    fn holders_are_ranked_by_how_much_of_the_window_they_hold() {
        let now = Instant::now();
        let mut swarm = Swarm::new(100);
        swarm.join("few".into(), &held(10..=11), now);
        swarm.join("many".into(), &held(10..=19), now);
        swarm.join("none".into(), &held(50..=60), now);
        swarm.join("asker".into(), &held(10..=19), now);
        let holders = swarm.holders("asker", 10, 10, 16, now);
        assert_eq!(names(&holders), ["many", "few"], "never the asker, never a peer without any");
        assert_eq!(holders[1].holds.ranges(), &[[10, 11]]);
    }

    #[test]
    fn ties_go_to_the_least_loaded_peer() {
        let now = Instant::now();
        let mut swarm = Swarm::new(100);
        swarm.join("a".into(), &held(0..=9), now);
        swarm.join("b".into(), &held(0..=9), now);
        let first = swarm.holders("x", 0, 10, 1, now);
        let second = swarm.holders("x", 0, 10, 1, now);
        assert_ne!(names(&first), names(&second), "the peer named first is now loaded");
    }

    #[test]
    fn ties_in_load_go_to_the_most_recently_active() {
        let start = Instant::now();
        let mut swarm = Swarm::new(100);
        swarm.join("old".into(), &held(0..=9), start);
        swarm.join("fresh".into(), &held(0..=9), start);
        swarm.touch("fresh", start + Duration::from_secs(5));
        assert_eq!(names(&swarm.holders("x", 0, 10, 1, start + Duration::from_secs(6))), ["fresh"]);
    }

    #[test]
    fn remote_views_replace_remote_members_only() {
        let now = Instant::now();
        let mut swarm = Swarm::new(100);
        swarm.join("local".into(), &held(0..=1), now);
        swarm
            .set_remote(vec![("far".into(), "i2".into(), held(0..=9)), ("gone".into(), "i2".into(), held(0..=0))], now);
        assert_eq!(names(&swarm.holders("x", 0, 10, 16, now)), ["far", "local", "gone"]);
        swarm.set_remote(
            vec![("far".into(), "i2".into(), held(5..=5)), ("local".into(), "i3".into(), held(0..=99))],
            now,
        );
        assert_eq!(swarm.remote_instance("far"), Some("i2"));
        assert_eq!(swarm.remote_instance("local"), None, "a local member is not overwritten");
        assert!(!swarm.contains("gone"));
        assert_eq!(swarm.ranges_of("far").map(|r| r.count()), Some(1));
    }

    #[test]
    fn reported_peers_are_hidden_from_their_reporters_then_from_everyone() {
        let now = Instant::now();
        let mut swarm = Swarm::new(100);
        for (n, peer) in ["bad", "r1", "r2", "r3", "x"].into_iter().enumerate() {
            swarm.join(peer.into(), &held(0..=3), now);
            swarm.set_network(peer, Some(format!("192.0.{n}.0/24")));
            swarm.signalled(peer, "bad");
            swarm.signalled("bad", peer);
        }
        assert!(swarm.report("r1", "bad"));
        assert!(!swarm.report("r1", "bad"), "a repeat does not count twice");
        assert!(!swarm.report("bad", "bad"), "nobody reports itself");
        assert!(!swarm.report("stranger", "bad"), "only members report");
        assert!(!names(&swarm.holders("r1", 0, 4, 16, now)).contains(&"bad"));
        assert!(
            names(&swarm.holders("x", 0, 4, 16, now)).contains(&"bad"),
            "one report hides it from the reporter only"
        );
        assert!(swarm.report("r2", "bad"));
        assert!(swarm.report("r3", "bad"));
        assert!(
            !names(&swarm.holders("x", 0, 4, 16, now)).contains(&"bad"),
            "three reports from peers that talked to it, on three networks, hide it from everyone"
        );
    }

    #[test]
    fn answers_are_capped() {
        let now = Instant::now();
        let mut swarm = Swarm::new(100);
        for i in 0..40 {
            swarm.join(format!("p{i}"), &held(0..=3), now);
        }
        assert_eq!(swarm.holders("x", 0, 4, 1000, now).len(), MAX_PEERS_PER_ANSWER as usize);
    }
}
