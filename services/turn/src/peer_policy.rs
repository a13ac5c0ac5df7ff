//! Where a relay may send, and whom it may hear from. A TURN server that
//! relays anywhere is a door into the network it runs in: a browser could
//! reach the server's own admin port, a database on loopback or a printer on
//! the LAN. Like coturn's `denied-peer-ip`, everything that is not a public
//! unicast address is refused unless the operator allowed its block, and so
//! are this server's own HTTP and TURN ports.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use cinemesh_common::client_address::AddressBlock;

#[derive(Debug, Clone, Default)]
pub struct PeerPolicy {
    /// Blocks allowed although not public (`turn.allowed_peer_ranges`).
    allowed: Vec<AddressBlock>,
    /// This server's addresses: its ports there are refused.
    own_ips: Vec<IpAddr>,
    /// This server's ports: HTTP, STUN/TURN.
    own_ports: Vec<u16>,
    /// Listening on every interface: its addresses are not all known here,
    /// so its ports are refused on every address.
    own_ports_everywhere: bool,
}

impl PeerPolicy {
    pub fn new(allowed: Vec<AddressBlock>) -> Self {
        Self { allowed, ..Self::default() }
    }

    /// Refuses `ports` on `ips` (this server's own); on every address when
    /// one of `ips` is unspecified (listening on every interface, whose
    /// addresses this does not list). Its relay ports stay open: two browsers
    /// that both need a relay talk relay to relay.
    pub fn with_own_ports(mut self, ips: Vec<IpAddr>, ports: Vec<u16>) -> Self {
        self.own_ports_everywhere = ips.iter().any(IpAddr::is_unspecified);
        self.own_ips = ips.into_iter().map(canonical).collect();
        self.own_ports = ports;
        self
    }

    /// Whether a relay may exchange datagrams with `peer`.
    pub fn allows(&self, peer: SocketAddr) -> bool {
        let ip = canonical(peer.ip());
        if self.is_own_port(ip, peer.port()) {
            return false;
        }
        is_public_unicast(ip) || self.allowed.iter().any(|block| block.contains(ip))
    }

    fn is_own_port(&self, ip: IpAddr, port: u16) -> bool {
        let own_ip = self.own_ports_everywhere || ip.is_loopback() || ip.is_unspecified() || self.own_ips.contains(&ip);
        own_ip && self.own_ports.contains(&port)
    }
}

fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

/// Not loopback, private, shared (carrier-grade NAT), link-local, multicast,
/// broadcast, reserved or unspecified.
pub fn is_public_unicast(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_public_v4(v4),
        IpAddr::V6(v6) => is_public_v6(v6),
    }
}

fn is_public_v4(ip: Ipv4Addr) -> bool {
    let [a, b, c, _] = ip.octets();
    let shared = a == 100 && (64..128).contains(&b); // 100.64.0.0/10
    let protocol_assignments = a == 192 && b == 0 && c == 0; // 192.0.0.0/24
    let benchmarking = a == 198 && (18..20).contains(&b); // 198.18.0.0/15
    !(ip.is_unspecified()
        || ip.is_loopback()
        || ip.is_private()
        || ip.is_link_local()
        || ip.is_multicast()
        || ip.is_broadcast()
        || a == 0
        || a >= 240
        || shared
        || protocol_assignments
        || benchmarking)
}

/// Global unicast (2000::/3) only, less the forms that carry an IPv4 address
/// a relay could reach through a gateway: 6to4 (2002::/16) and Teredo
/// (2001::/32). That leaves out unique-local, link-local, site-local,
/// multicast, NAT64 (64:ff9b::/96), IPv4-compatible and discard addresses.
fn is_public_v6(ip: Ipv6Addr) -> bool {
    let [first, second, ..] = ip.segments();
    let global_unicast = first & 0xe000 == 0x2000;
    let six_to_four = first == 0x2002;
    let teredo = first == 0x2001 && second == 0;
    global_unicast && !six_to_four && !teredo
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addr(text: &str) -> SocketAddr {
        text.parse().unwrap_or_else(|_| unreachable!("{text}"))
    }

    #[test]
    fn only_public_unicast_peers_by_default() {
        let policy = PeerPolicy::default();
        for refused in [
            "127.0.0.1:5000",
            "10.1.2.3:5000",
            "172.16.0.9:5000",
            "192.168.1.20:5000",
            "100.64.3.4:5000",
            "169.254.1.1:5000",
            "0.0.0.0:5000",
            "224.0.0.1:5000",
            "255.255.255.255:5000",
            "[::1]:5000",
            "[fd00::2]:5000",
            "[fe80::1]:5000",
            "[::ffff:127.0.0.1]:5000",
            "[::ffff:10.0.0.1]:5000",
            "[64:ff9b::a00:1]:5000",
            "[64:ff9b:1::a00:1]:5000",
            "[::a00:1]:5000",
            "[2002:a00:1::1]:5000",
            "[2001:0:a00:1::1]:5000",
            "[fec0::1]:5000",
            "[100::1]:5000",
            "[ff02::1]:5000",
        ] {
            assert!(!policy.allows(addr(refused)), "{refused} must be refused");
        }
        for allowed in ["203.0.113.7:5000", "8.8.8.8:53", "[2001:db8::1]:5000", "[::ffff:198.51.100.2]:5000"] {
            assert!(policy.allows(addr(allowed)), "{allowed} must be allowed");
        }
    }

    #[test]
    fn allowed_blocks_open_private_ranges_but_never_the_servers_own_ports() {
        let lan = AddressBlock::parse("192.168.1.0/24").unwrap_or_else(|_| unreachable!());
        let own: IpAddr = "203.0.113.10".parse().unwrap_or_else(|_| unreachable!());
        let policy = PeerPolicy::new(vec![lan]).with_own_ports(vec![own], vec![8080, 3478]);
        assert!(policy.allows(addr("192.168.1.20:5000")));
        assert!(!policy.allows(addr("192.168.2.20:5000")));
        assert!(!policy.allows(addr("203.0.113.10:8080")), "the server's HTTP port");
        assert!(!policy.allows(addr("203.0.113.10:3478")), "the server's TURN port");
        assert!(policy.allows(addr("203.0.113.10:49170")), "another relay of this server: relay to relay");
        assert!(policy.allows(addr("203.0.113.11:8080")));

        // Listening on every interface: the server's ports are refused on any address.
        let everywhere = PeerPolicy::default()
            .with_own_ports(vec!["0.0.0.0".parse().unwrap_or_else(|_| unreachable!())], vec![8080, 3478]);
        assert!(!everywhere.allows(addr("198.51.100.4:8080")));
        assert!(!everywhere.allows(addr("[2a01:4f8::1]:3478")));
        assert!(everywhere.allows(addr("198.51.100.4:8081")));
    }
}
