//! NAT kinds behave as claimed:
//! - symmetric: two destinations see two different source ports;
//! - port-restricted: one port for every destination, and nothing unsolicited gets in;
//! - full-cone: an unsolicited datagram to the mapped port reaches the client;
//! - a two-client home hairpins: clients reach each other through the public address;
//! - renumbering moves a home to a new address and breaks its mappings;
//! - two port-restricted homes punch through to each other although one side's first datagram
//!   arrives before the other has sent anything (the order ICE checks come in).

use std::net::SocketAddr;

use crate::helpers::{SERVER, TestLab, one_lab_at_a_time, recv, root};

const HOMES: &str = "symmetric,port-restricted,full-cone";

/// The source addresses two server ports see for one client socket sending to both.
fn sources_seen_by_two_destinations(lab: &TestLab, client: &str) -> (SocketAddr, SocketAddr) {
    let a = lab.udp("server", SocketAddr::from((SERVER, 5001)));
    let b = lab.udp("server", SocketAddr::from((SERVER, 5002)));
    let c = lab.udp(client, "0.0.0.0:0".parse().unwrap());
    c.send_to(b"to a", a.local_addr().unwrap()).unwrap();
    c.send_to(b"to b", b.local_addr().unwrap()).unwrap();
    (recv(&a).expect("a heard nothing").1, recv(&b).expect("b heard nothing").1)
}

#[test]
fn symmetric_nat_gives_each_destination_its_own_port() {
    if !root() {
        return;
    }
    let _alone = one_lab_at_a_time();
    let lab = TestLab::up("lan", HOMES);
    let (a, b) = sources_seen_by_two_destinations(&lab, "home1-c1");
    assert_eq!(a.ip(), lab.public_address("home1"));
    assert_eq!(b.ip(), lab.public_address("home1"));
    assert_ne!(a.port(), b.port(), "a symmetric NAT maps each destination apart");
}

#[test]
fn port_restricted_nat_keeps_one_port_for_every_destination() {
    if !root() {
        return;
    }
    let _alone = one_lab_at_a_time();
    let lab = TestLab::up("lan", HOMES);
    let (a, b) = sources_seen_by_two_destinations(&lab, "home2-c1");
    assert_eq!(a, b);
    assert_eq!(a.ip(), lab.public_address("home2"));
}

/// Whether a datagram from a server port the client never sent to reaches the client.
fn unsolicited_reaches(lab: &TestLab, client: &str) -> bool {
    let known = lab.udp("server", SocketAddr::from((SERVER, 5001)));
    let stranger = lab.udp("server", SocketAddr::from((SERVER, 5003)));
    let c = lab.udp(client, "0.0.0.0:0".parse().unwrap());
    c.send_to(b"hello", known.local_addr().unwrap()).unwrap();
    let (_, mapped) = recv(&known).expect("the server heard nothing");
    // The peer the client talked to gets through either way.
    known.send_to(b"reply", mapped).unwrap();
    assert_eq!(recv(&c).map(|(data, _)| data), Some(b"reply".to_vec()));
    stranger.send_to(b"unsolicited", mapped).unwrap();
    recv(&c).is_some_and(|(data, _)| data == b"unsolicited")
}

#[test]
fn full_cone_lets_an_unsolicited_datagram_reach_the_mapped_port() {
    if !root() {
        return;
    }
    let _alone = one_lab_at_a_time();
    let lab = TestLab::up("lan", HOMES);
    assert!(unsolicited_reaches(&lab, "home3-c1"));
}

#[test]
fn port_restricted_drops_datagrams_from_ports_the_client_never_sent_to() {
    if !root() {
        return;
    }
    let _alone = one_lab_at_a_time();
    let lab = TestLab::up("lan", HOMES);
    assert!(!unsolicited_reaches(&lab, "home2-c1"));
}

/// c1 sends to c2's public mapping; returns what c2 saw as the sender, if anything arrived.
fn hairpin(lab: &TestLab, home: &str) -> Option<SocketAddr> {
    let public = lab.public_address(home);
    let c1 = lab.udp(&format!("{home}-c1"), "0.0.0.0:0".parse().unwrap());
    let c2 = lab.udp(&format!("{home}-c2"), "0.0.0.0:0".parse().unwrap());
    // The NAT keeps source ports, so c2's public mapping has c2's own port.
    let c2_public = SocketAddr::from((public, c2.local_addr().unwrap().port()));
    c1.send_to(b"via the public address", c2_public).unwrap();
    let (data, from) = recv(&c2)?;
    assert_eq!(data, b"via the public address");
    assert_eq!(from, SocketAddr::from((public, c1.local_addr().unwrap().port())), "c2 sees c1's public mapping");
    Some(from)
}

#[test]
fn two_clients_behind_one_nat_reach_each_other_through_its_public_address() {
    if !root() {
        return;
    }
    let _alone = one_lab_at_a_time();
    let lab = TestLab::up("lan", "port-restricted:2,full-cone:2");
    assert!(hairpin(&lab, "home1").is_some(), "port-restricted home did not hairpin");
    assert!(hairpin(&lab, "home2").is_some(), "full-cone home did not hairpin");
}

#[test]
fn full_cone_with_two_clients_sends_each_unsolicited_datagram_to_the_ports_owner() {
    if !root() {
        return;
    }
    let _alone = one_lab_at_a_time();
    let lab = TestLab::up("lan", "full-cone:2");
    assert!(unsolicited_reaches(&lab, "home1-c1"));
    assert!(unsolicited_reaches(&lab, "home1-c2"));
}

/// The public mapping the server sees for `socket`.
fn mapping_of(lab: &TestLab, socket: &std::net::UdpSocket) -> SocketAddr {
    let server = lab.udp("server", SocketAddr::from((SERVER, 0)));
    socket.send_to(b"where am I", server.local_addr().unwrap()).unwrap();
    recv(&server).expect("the server heard nothing").1
}

#[test]
fn two_port_restricted_homes_punch_through_when_one_side_sends_first() {
    if !root() {
        return;
    }
    let _alone = one_lab_at_a_time();
    let lab = TestLab::up("lan", "port-restricted,port-restricted");
    let a = lab.udp("home1-c1", "0.0.0.0:0".parse().unwrap());
    let b = lab.udp("home2-c1", "0.0.0.0:0".parse().unwrap());
    let (a_public, b_public) = (mapping_of(&lab, &a), mapping_of(&lab, &b));

    // a's first check reaches b's router before b has sent anything to a: filtered.
    a.send_to(b"early check", b_public).unwrap();
    assert!(recv(&b).is_none(), "a port-restricted NAT let in a datagram from a stranger");
    // b's check goes out through the mapping the server saw, and a's router lets it in, since a
    // already sent to exactly that address and port. A router that kept a connection-tracking
    // entry for the dropped datagram would give b a new port here, and a would never hear it.
    b.send_to(b"b's check", a_public).unwrap();
    assert_eq!(recv(&a), Some((b"b's check".to_vec(), b_public)), "b's check did not reach a from b's mapping");
    a.send_to(b"a's answer", b_public).unwrap();
    assert_eq!(recv(&b), Some((b"a's answer".to_vec(), a_public)));
}

#[test]
fn renumbering_moves_a_home_to_a_new_address_and_breaks_its_mappings() {
    if !root() {
        return;
    }
    let _alone = one_lab_at_a_time();
    let lab = TestLab::up("lan", "port-restricted");
    let server = lab.udp("server", SocketAddr::from((SERVER, 5001)));
    let client = lab.udp("home1-c1", "0.0.0.0:0".parse().unwrap());
    client.send_to(b"before", server.local_addr().unwrap()).unwrap();
    let (_, old_mapping) = recv(&server).unwrap();

    assert!(lab.netlab(&["renumber", "home1"]).status.success());
    let new_address = lab.public_address("home1");
    assert_ne!(new_address, old_mapping.ip());

    server.send_to(b"to the old mapping", old_mapping).unwrap();
    assert!(recv(&client).is_none(), "the old mapping still delivers");
    client.send_to(b"after", server.local_addr().unwrap()).unwrap();
    let (_, new_mapping) = recv(&server).unwrap();
    assert_eq!(new_mapping.ip(), new_address);
}
