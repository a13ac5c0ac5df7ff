//! Reports of misbehaving peers, weighed so that nobody can hide an honest
//! peer by reporting it. A report always hides the reported peer from its
//! reporter. It counts towards hiding the peer from everyone only when it is
//! credible: the reporter and the reported peer signalled each other through
//! this tracker, both ways (so the two negotiated a connection and data could
//! have flowed), and the reporter's network has not filed more than a few
//! reports in the swarm (one that reports everyone is the problem; a new peer
//! id does not buy new reports). The peer is hidden from everyone once
//! credible reports come from `REPORTS_TO_EXCLUDE` distinct networks (IPv4
//! /24, IPv6 /48): sockets opened from one home count once.

use std::collections::{HashMap, VecDeque};
use std::net::IpAddr;

use cinemesh_protocol::tracker::{PeerId, REPORTS_TO_EXCLUDE};

/// Reports a peer may file in one swarm that count towards exclusion.
pub const CREDIBLE_REPORTS_PER_REPORTER: u32 = 3;
/// Peers remembered as contacted, per member (the most recent).
const CONTACTS_KEPT: usize = 256;

/// The network an address belongs to, for counting distinct reporters.
pub fn network_of(address: IpAddr) -> String {
    match address {
        IpAddr::V4(v4) => {
            let [a, b, c, _] = v4.octets();
            format!("{a}.{b}.{c}.0/24")
        }
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => network_of(IpAddr::V4(v4)),
            None => {
                let s = v6.segments();
                format!("{:x}:{:x}:{:x}::/48", s[0], s[1], s[2])
            }
        },
    }
}

/// What the tracker knows of one member, to weigh the reports it files and receives.
#[derive(Debug, Default)]
pub struct ReportBook {
    /// Its network (none: connected to another instance, or unknown).
    pub network: Option<String>,
    /// Peers it sent signals to, and peers it heard from, most recent last.
    sent_to: VecDeque<PeerId>,
    heard_from: VecDeque<PeerId>,
    /// Who reported it, and from which network if the report is credible.
    reported_by: HashMap<PeerId, Option<String>>,
}

impl ReportBook {
    pub fn sent_to(&mut self, peer: &str) {
        remember(&mut self.sent_to, peer);
    }

    pub fn heard_from(&mut self, peer: &str) {
        remember(&mut self.heard_from, peer);
    }

    /// Whether this member and `peer` signalled each other, both ways.
    fn exchanged_with(&self, peer: &str) -> bool {
        self.sent_to.iter().any(|p| p == peer) && self.heard_from.iter().any(|p| p == peer)
    }

    /// Records `reporter`'s report against this member; false for a repeat.
    fn reported(&mut self, reporter: &str, credible_from: Option<String>) -> bool {
        if self.reported_by.contains_key(reporter) {
            return false;
        }
        self.reported_by.insert(reporter.to_owned(), credible_from);
        true
    }

    /// Whether `asker` may be introduced to this member.
    pub fn trusted_by(&self, asker: &str) -> bool {
        !self.reported_by.contains_key(asker) && self.credible_networks() < REPORTS_TO_EXCLUDE
    }

    fn credible_networks(&self) -> usize {
        let mut networks: Vec<&String> = self.reported_by.values().flatten().collect();
        networks.sort_unstable();
        networks.dedup();
        networks.len()
    }
}

fn remember(peers: &mut VecDeque<PeerId>, peer: &str) {
    if let Some(at) = peers.iter().position(|p| p == peer) {
        peers.remove(at);
    } else if peers.len() >= CONTACTS_KEPT {
        peers.pop_front();
    }
    peers.push_back(peer.to_owned());
}

/// Files a report from `reporter` against `reported`; false for a repeat.
/// `filed_by_network` counts the reports each network filed in the swarm.
pub fn file(
    reporter: &ReportBook,
    reporter_peer: &str,
    reported: &mut ReportBook,
    reported_peer: &str,
    filed_by_network: &mut HashMap<String, u32>,
) -> bool {
    let network = reporter.network.clone();
    let filed = network.as_ref().map_or(u32::MAX, |n| filed_by_network.get(n).copied().unwrap_or(0));
    let credible = filed < CREDIBLE_REPORTS_PER_REPORTER && reporter.exchanged_with(reported_peer);
    if !reported.reported(reporter_peer, network.clone().filter(|_| credible)) {
        return false;
    }
    if let Some(network) = network {
        *filed_by_network.entry(network).or_default() += 1;
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    fn book(network: &str, exchanged: &[&str]) -> ReportBook {
        let mut book = ReportBook { network: Some(network.into()), ..ReportBook::default() };
        for peer in exchanged {
            book.sent_to(peer);
            book.heard_from(peer);
        }
        book
    }

    #[test]
    fn networks_group_a_home_s_addresses() {
        assert_eq!(network_of("192.0.2.7".parse().unwrap()), "192.0.2.0/24");
        assert_eq!(network_of("::ffff:192.0.2.9".parse().unwrap()), "192.0.2.0/24");
        assert_eq!(network_of("2001:db8:1:2::5".parse().unwrap()), "2001:db8:1::/48");
    }

    #[test]
    fn only_credible_reports_from_distinct_networks_hide_a_peer_from_everyone() {
        let mut target = ReportBook::default();
        let mut filed = HashMap::new();
        // Three sockets of one home that talked with the target: one network.
        for n in 0..3 {
            let reporter = book("192.0.2.0/24", &["target"]);
            assert!(file(&reporter, &format!("home{n}"), &mut target, "target", &mut filed));
        }
        assert!(target.trusted_by("x"), "one network, however many sockets");
        assert!(!target.trusted_by("home0"), "but hidden from each reporter");
        // Strangers who never exchanged a signal with it, and one that only sent.
        for n in 0..3 {
            let stranger = book(&format!("198.51.{n}.0/24"), &[]);
            assert!(file(&stranger, &format!("stranger{n}"), &mut target, "target", &mut filed));
        }
        let mut one_way = book("198.51.9.0/24", &[]);
        one_way.sent_to("target");
        assert!(file(&one_way, "one_way", &mut target, "target", &mut filed));
        assert!(target.trusted_by("x"), "reports without an exchange both ways do not count");
        for n in 0..2 {
            let peer = book(&format!("203.0.{n}.0/24"), &["target"]);
            assert!(file(&peer, &format!("peer{n}"), &mut target, "target", &mut filed));
        }
        assert!(!target.trusted_by("x"), "three networks with evidence");
        let again = book("203.0.9.0/24", &["target"]);
        assert!(!file(&again, "peer0", &mut target, "target", &mut filed), "a repeat counts once");
    }

    #[test]
    fn a_network_that_reports_everyone_stops_counting_whatever_its_peer_ids() {
        let mut filed = HashMap::new();
        let mut victims: Vec<ReportBook> = (0..4).map(|_| ReportBook::default()).collect();
        for (n, (victim, name)) in victims.iter_mut().zip(["a", "b", "c", "d"]).enumerate() {
            // A new peer id for every report.
            let serial = book("192.0.2.0/24", &[name]);
            file(&serial, &format!("serial{n}"), victim, name, &mut filed);
        }
        let credible = |b: &ReportBook| b.credible_networks();
        assert_eq!(victims.iter().map(credible).collect::<Vec<_>>(), [1, 1, 1, 0]);
    }
}
