//! Reports of misbehaving peers, weighed so that nobody can hide an honest
//! peer by reporting it. A report always hides the reported peer from its
//! reporter. It counts towards hiding the peer from everyone only when it is
//! credible: the reporter exchanged signalling with the reported peer through
//! this tracker (so the two were connected and data could have flowed), and
//! the reporter has not filed more than a few reports in the swarm (one that
//! reports everyone is the problem). The peer is hidden from everyone once
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
    /// Peers it exchanged signalling with, most recent last.
    contacts: VecDeque<PeerId>,
    /// Reports it filed in this swarm.
    filed: u32,
    /// Who reported it, and from which network if the report is credible.
    reported_by: HashMap<PeerId, Option<String>>,
}

impl ReportBook {
    pub fn contacted(&mut self, peer: &str) {
        if let Some(at) = self.contacts.iter().position(|p| p == peer) {
            self.contacts.remove(at);
        } else if self.contacts.len() >= CONTACTS_KEPT {
            self.contacts.pop_front();
        }
        self.contacts.push_back(peer.to_owned());
    }

    /// Whether this member, filing a report against `reported`, is to be believed.
    fn credible_against(&self, reported: &str) -> bool {
        self.network.is_some()
            && self.filed < CREDIBLE_REPORTS_PER_REPORTER
            && self.contacts.iter().any(|p| p == reported)
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

/// Files a report from `reporter` against `reported`; false for a repeat.
pub fn file(reporter: &mut ReportBook, reported_peer: &str, reported: &mut ReportBook, reporter_peer: &str) -> bool {
    let credible_from = reporter.credible_against(reported_peer).then(|| reporter.network.clone()).flatten();
    if !reported.reported(reporter_peer, credible_from) {
        return false;
    }
    reporter.filed = reporter.filed.saturating_add(1);
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    fn book(network: &str, contacts: &[&str]) -> ReportBook {
        let mut book = ReportBook { network: Some(network.into()), ..ReportBook::default() };
        for c in contacts {
            book.contacted(c);
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
        // Three sockets of one home that talked to the target: one network.
        for n in 0..3 {
            let mut reporter = book("192.0.2.0/24", &["target"]);
            assert!(file(&mut reporter, "target", &mut target, &format!("home{n}")));
        }
        assert!(target.trusted_by("x"), "one network, however many sockets");
        assert!(!target.trusted_by("home0"), "but hidden from each reporter");
        // Strangers who never exchanged a signal with it.
        for n in 0..3 {
            let mut stranger = book(&format!("198.51.{n}.0/24"), &[]);
            assert!(file(&mut stranger, "target", &mut target, &format!("stranger{n}")));
        }
        assert!(target.trusted_by("x"), "reports without contact do not count");
        // Two more networks that did talk to it.
        for n in 0..2 {
            let mut peer = book(&format!("203.0.{n}.0/24"), &["target"]);
            assert!(file(&mut peer, "target", &mut target, &format!("peer{n}")));
        }
        assert!(!target.trusted_by("x"), "three networks with evidence");
        let mut again = book("203.0.9.0/24", &["target"]);
        assert!(!file(&mut again, "target", &mut target, "peer0"), "a repeat counts once");
    }

    #[test]
    fn a_reporter_of_everyone_stops_counting() {
        let mut serial = book("192.0.2.0/24", &["a", "b", "c", "d"]);
        let mut victims: Vec<ReportBook> = (0..4).map(|_| ReportBook::default()).collect();
        for (victim, name) in victims.iter_mut().zip(["a", "b", "c", "d"]) {
            file(&mut serial, name, victim, "serial");
        }
        let credible = |b: &ReportBook| b.credible_networks();
        assert_eq!(victims.iter().map(credible).collect::<Vec<_>>(), [1, 1, 1, 0]);
    }
}
