//! iptables rule sets of the routers (NAT and shaping queues) and of the server (shaping queues),
//! as `iptables-restore` input. Each namespace has its own tables; replacing them is atomic.
//!
//! NAT kinds:
//! - port-restricted: `MASQUERADE` on the WAN side. Linux keeps the source port when it can, so
//!   mapping is endpoint-independent; conntrack lets in only replies from the exact address and
//!   port a client sent to (address-and-port-dependent filtering).
//! - symmetric: `MASQUERADE --random-fully`: a new random external port per destination.
//! - full-cone: MASQUERADE plus a DNAT of inbound UDP to the client owning the port, so anyone
//!   can reach a mapped port (endpoint-independent filtering). With one client every UDP port goes
//!   to it; with several, each client owns its ephemeral port range (see
//!   [`crate::topology::CLIENT_PORTS_BASE`]), and since MASQUERADE keeps source ports the
//!   external port names the client.
//!
//! Every router drops datagrams addressed to itself from the WAN side that belong to no
//! connection, as home routers' firewalls do. Without that rule, a stranger's datagram that the
//! router answers itself (with an ICMP error) leaves a connection-tracking entry behind, and
//! MASQUERADE then gives the client a new port for that stranger to keep the entries apart: an
//! ICE check arriving before the client has sent its own makes a port-restricted NAT map like a
//! symmetric one, and two such homes never connect. A dropped datagram leaves no entry.
//!
//! Hairpinning (homes with two or more clients, full-cone and port-restricted): a client sending
//! to the router's public address and another client's port is DNATed to that client and SNATed
//! to the public address, so each sees the other at its public mapping, as a peer outside would.
//! Symmetric homes do not hairpin: their external ports are random, so no rule can tell the client.

use std::fmt::Write;

use crate::topology::{HomePlan, NatKind, ServerPlan};

/// NFQUEUE numbers in every shaped namespace (queues are per network namespace).
pub const UPLINK_QUEUE: u16 = 1;
pub const DOWNLINK_QUEUE: u16 = 2;

/// Which directions of a link pass through the delay shaper.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Queued {
    pub up: bool,
    pub down: bool,
}

/// The router's `*nat` and `*filter` tables.
pub fn router_rules(home: &HomePlan, queued: Queued) -> String {
    let mut out = String::new();
    let wan = &home.wan_dev;
    let lan = &home.lan_bridge;
    let public = home.wan_address;
    let lan_net = format!("{}/24", home.lan_prefix());
    out.push_str(
        "*nat\n:PREROUTING ACCEPT [0:0]\n:INPUT ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n:POSTROUTING ACCEPT [0:0]\n",
    );
    if home.nat == NatKind::FullCone {
        if let [only] = home.clients.as_slice() {
            let _ = writeln!(out, "-A PREROUTING -i {wan} -p udp -j DNAT --to-destination {}", only.address);
        } else {
            for client in &home.clients {
                let (low, high) = client.ports;
                let _ = writeln!(
                    out,
                    "-A PREROUTING -i {wan} -p udp --dport {low}:{high} -j DNAT --to-destination {}",
                    client.address
                );
            }
        }
    }
    if home.hairpins() {
        for client in &home.clients {
            let (low, high) = client.ports;
            for proto in ["udp", "tcp"] {
                let _ = writeln!(
                    out,
                    "-A PREROUTING -i {lan} -d {public}/32 -p {proto} --dport {low}:{high} -j DNAT --to-destination {}",
                    client.address
                );
            }
        }
        let _ = writeln!(
            out,
            "-A POSTROUTING -o {lan} -s {lan_net} -d {lan_net} -m conntrack --ctstate DNAT -j SNAT --to-source {public}"
        );
    }
    let random = if home.nat == NatKind::Symmetric { " --random-fully" } else { "" };
    let _ = writeln!(out, "-A POSTROUTING -o {wan} -j MASQUERADE{random}");
    out.push_str("COMMIT\n");
    let firewall = format!("-A INPUT -i {wan} -m conntrack --ctstate NEW,INVALID -j DROP\n");
    out.push_str(&filter_table(&format!("-A FORWARD -o {wan}"), &format!("-A FORWARD -i {wan}"), queued, &firewall));
    out
}

/// The server's `*filter` table: its own traffic is queued on the way out and in.
pub fn server_rules(server: &ServerPlan, queued: Queued) -> String {
    filter_table(&format!("-A OUTPUT -o {}", server.dev), &format!("-A INPUT -i {}", server.dev), queued, "")
}

/// No `--queue-bypass` and no fail-open: while the driver lives the queues are served; if it
/// dies, the shaped links drop everything rather than pass packets unshaped unnoticed.
/// `firewall` holds rules that come first.
fn filter_table(up_match: &str, down_match: &str, queued: Queued, firewall: &str) -> String {
    let mut out = String::from("*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n");
    out.push_str(firewall);
    if queued.up {
        let _ = writeln!(out, "{up_match} -j NFQUEUE --queue-num {UPLINK_QUEUE}");
    }
    if queued.down {
        let _ = writeln!(out, "{down_match} -j NFQUEUE --queue-num {DOWNLINK_QUEUE}");
    }
    out.push_str("COMMIT\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::profile::ProfileFile;
    use crate::topology::{LabPlan, parse_homes};

    fn lab(homes: &str) -> LabPlan {
        let file = ProfileFile::load(None).unwrap();
        LabPlan::new("0a0a".parse().unwrap(), "lan", file.get("lan").unwrap(), &parse_homes(homes).unwrap(), None)
            .unwrap()
    }

    const BOTH: Queued = Queued { up: true, down: true };

    #[test]
    fn port_restricted_is_plain_masquerade() {
        let rules = router_rules(&lab("port-restricted").homes[0], BOTH);
        assert!(rules.contains("-A POSTROUTING -o nl0a0a-h1-wan -j MASQUERADE\n"), "{rules}");
        assert!(!rules.contains("DNAT") && !rules.contains("random"), "{rules}");
    }

    #[test]
    fn every_router_drops_unsolicited_datagrams_to_itself_before_they_are_tracked() {
        for kind in ["port-restricted", "symmetric", "full-cone"] {
            let rules = router_rules(&lab(kind).homes[0], BOTH);
            let filter = &rules[rules.find("*filter").unwrap()..];
            assert!(
                filter.contains(
                    ":OUTPUT ACCEPT [0:0]\n-A INPUT -i nl0a0a-h1-wan -m conntrack --ctstate NEW,INVALID -j DROP\n"
                ),
                "{kind}: {rules}"
            );
        }
        assert!(!server_rules(&lab("symmetric").server, BOTH).contains("DROP"));
    }

    #[test]
    fn symmetric_picks_random_ports_and_does_not_hairpin() {
        let rules = router_rules(&lab("symmetric:2").homes[0], BOTH);
        assert!(rules.contains("-j MASQUERADE --random-fully\n"), "{rules}");
        assert!(!rules.contains("DNAT"), "{rules}");
    }

    #[test]
    fn full_cone_with_one_client_forwards_every_inbound_udp_port() {
        let rules = router_rules(&lab("full-cone").homes[0], BOTH);
        assert!(rules.contains("-A PREROUTING -i nl0a0a-h1-wan -p udp -j DNAT --to-destination 192.168.1.11\n"));
    }

    #[test]
    fn full_cone_with_two_clients_maps_each_clients_port_range() {
        let rules = router_rules(&lab("full-cone:2").homes[0], BOTH);
        assert!(rules.contains("-i nl0a0a-h1-wan -p udp --dport 20000:24999 -j DNAT --to-destination 192.168.1.11\n"));
        assert!(rules.contains("-i nl0a0a-h1-wan -p udp --dport 25000:29999 -j DNAT --to-destination 192.168.1.12\n"));
    }

    #[test]
    fn two_client_homes_hairpin_through_the_public_address() {
        let rules = router_rules(&lab("port-restricted:2").homes[0], BOTH);
        assert!(rules.contains(
            "-A PREROUTING -i nl0a0a-h1-lan -d 203.0.113.101/32 -p udp --dport 25000:29999 -j DNAT --to-destination 192.168.1.12\n"
        ));
        assert!(rules.contains("--ctstate DNAT -j SNAT --to-source 203.0.113.101\n"), "{rules}");
    }

    #[test]
    fn shaping_queues_appear_only_for_shaped_directions() {
        let home = &lab("symmetric").homes[0];
        let up_only = router_rules(home, Queued { up: true, down: false });
        assert!(up_only.contains("-A FORWARD -o nl0a0a-h1-wan -j NFQUEUE --queue-num 1\n"));
        assert!(!up_only.contains("--queue-num 2"));
        assert!(!up_only.contains("queue-bypass"));
        let server = server_rules(&lab("symmetric").server, BOTH);
        assert!(server.contains("-A OUTPUT -o nl0a0a-srv -j NFQUEUE --queue-num 1\n"));
        assert!(server.contains("-A INPUT -i nl0a0a-srv -j NFQUEUE --queue-num 2\n"));
        assert!(!server.contains("*nat"));
    }
}
