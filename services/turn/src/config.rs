//! The `[turn]` section: the server's own STUN (on by default, so browsers
//! learn their public address from this server rather than a third party's)
//! and TURN (off until `relay = true`: relayed bytes cost the server uplink).

use std::net::{IpAddr, SocketAddr};
use std::ops::RangeInclusive;

use anyhow::{Context, bail};
use cinemesh_common::client_address::AddressBlock;
use serde::{Deserialize, Serialize};

/// The port STUN and TURN listen on unless told otherwise (RFC 8489).
pub const DEFAULT_PORT: u16 = 3478;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TurnConfig {
    /// Answer STUN on UDP, and hand browsers this server as their STUN server.
    pub enabled: bool,
    /// UDP address to listen on. Empty: the HTTP bind's address, port 3478,
    /// or another free port when 3478 is taken (a warning says which). A
    /// socket on every interface (0.0.0.0) answers from the address the
    /// route picks, which on a host with several is not always the one
    /// asked: prefer the public one.
    pub listen: String,
    /// Relay (TURN) for browsers that cannot reach each other directly.
    pub relay: bool,
    /// Let segment connections use TURN too (this server's or `tracker.ice_servers`'),
    /// not only the call's. Off: segments between homes that cannot connect
    /// directly come over HTTP, which costs the server's uplink the same.
    pub relay_segments: bool,
    /// The address browsers reach this server at, advertised in relay
    /// candidates and ICE server URLs. Empty: the page's own host name in
    /// URLs, and the listen address (or the host's) in relay candidates.
    pub public_ip: String,
    /// UDP ports relays are opened on, `FIRST-LAST` (open them in a firewall).
    pub relay_ports: String,
    /// The TURN realm credentials are checked against.
    pub realm: String,
    /// Relays one viewer's credentials may hold at once.
    pub allocations_per_user: usize,
    /// Relays one client address (a home behind its NAT) may hold at once,
    /// whatever credentials it uses.
    pub allocations_per_address: usize,
    /// Relays this instance holds at once.
    pub max_allocations: usize,
    /// Bytes per second one relay carries each way; more is dropped (0: no cap).
    pub relay_bytes_per_sec: u64,
    /// Peer addresses a relay may send to although they are private,
    /// loopback or link-local (CIDR blocks, e.g. a LAN party's `192.168.1.0/24`).
    pub allowed_peer_ranges: Vec<String>,
}

impl Default for TurnConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            listen: String::new(),
            relay: false,
            relay_segments: false,
            public_ip: String::new(),
            relay_ports: "49160-49999".into(),
            realm: "cinemesh".into(),
            allocations_per_user: 16,
            allocations_per_address: 64,
            max_allocations: 400,
            relay_bytes_per_sec: 1_000_000,
            allowed_peer_ranges: Vec::new(),
        }
    }
}

/// Where to listen, once `listen` and the HTTP bind address are read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ListenAt {
    /// Configured: taken or the start fails.
    Exactly(SocketAddr),
    /// The default port on the HTTP bind's address, or any free port there.
    Preferably(SocketAddr),
}

impl TurnConfig {
    /// Where STUN/TURN listens, from `listen` or the HTTP server's `bind`.
    pub fn listen_at(&self, http_bind: &str) -> anyhow::Result<ListenAt> {
        if !self.listen.is_empty() {
            let address =
                self.listen.parse().with_context(|| format!("turn.listen {:?} is not IP:PORT", self.listen))?;
            return Ok(ListenAt::Exactly(address));
        }
        let host = http_bind.rsplit_once(':').map_or(http_bind, |(host, _)| host);
        let ip: IpAddr = host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .parse()
            .with_context(|| format!("server.bind {http_bind:?}: set turn.listen to IP:PORT"))?;
        Ok(ListenAt::Preferably(SocketAddr::new(ip, DEFAULT_PORT)))
    }

    /// `relay_ports` as a range.
    pub fn relay_port_range(&self) -> anyhow::Result<RangeInclusive<u16>> {
        let parse = |text: &str| text.trim().parse::<u16>().ok().filter(|port| *port > 0);
        match self.relay_ports.split_once('-').map(|(a, b)| (parse(a), parse(b))) {
            Some((Some(first), Some(last))) if first <= last => Ok(first..=last),
            _ => bail!("turn.relay_ports {:?} is not FIRST-LAST (1-65535, FIRST <= LAST)", self.relay_ports),
        }
    }

    /// `public_ip`, when set.
    pub fn public_ip(&self) -> anyhow::Result<Option<IpAddr>> {
        if self.public_ip.is_empty() {
            return Ok(None);
        }
        let ip = self
            .public_ip
            .parse()
            .with_context(|| format!("turn.public_ip {:?} is not an IP address", self.public_ip))?;
        Ok(Some(ip))
    }

    pub fn allowed_peer_blocks(&self) -> anyhow::Result<Vec<AddressBlock>> {
        self.allowed_peer_ranges
            .iter()
            .map(|block| AddressBlock::parse(block).map_err(|e| anyhow::anyhow!("turn.allowed_peer_ranges: {e}")))
            .collect()
    }

    /// Every setting read, so that a bad one stops the start with its name.
    pub fn validate(&self, http_bind: &str) -> anyhow::Result<()> {
        if !self.enabled {
            return Ok(());
        }
        self.listen_at(http_bind)?;
        self.relay_port_range()?;
        self.public_ip()?;
        self.allowed_peer_blocks()?;
        if self.realm.is_empty() {
            bail!("turn.realm must not be empty");
        }
        if self.relay
            && (self.allocations_per_user == 0 || self.allocations_per_address == 0 || self.max_allocations == 0)
        {
            bail!(
                "turn.allocations_per_user, turn.allocations_per_address and turn.max_allocations must be at least 1 with turn.relay on"
            );
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn listens_on_the_http_address_unless_told() {
        let config = TurnConfig::default();
        assert_eq!(
            config.listen_at("0.0.0.0:8080").ok(),
            Some(ListenAt::Preferably("0.0.0.0:3478".parse().unwrap_or_else(|_| unreachable!())))
        );
        let at = |text: &str| Some(ListenAt::Preferably(text.parse().unwrap_or_else(|_| unreachable!())));
        assert_eq!(config.listen_at("192.168.1.5:8080").ok(), at("192.168.1.5:3478"));
        assert_eq!(config.listen_at("[::1]:8080").ok(), at("[::1]:3478"));
        let told = TurnConfig { listen: "127.0.0.1:0".into(), ..TurnConfig::default() };
        assert_eq!(
            told.listen_at("0.0.0.0:8080").ok(),
            Some(ListenAt::Exactly("127.0.0.1:0".parse().unwrap_or_else(|_| unreachable!())))
        );
        assert!(config.listen_at("localhost:8080").is_err(), "a host name needs turn.listen");
    }

    #[test]
    fn bad_settings_are_named() {
        let bad = |config: TurnConfig| {
            format!("{:#}", config.validate("127.0.0.1:8080").err().map(|e| e.to_string()).unwrap_or_default())
        };
        assert!(bad(TurnConfig { relay_ports: "5000".into(), ..TurnConfig::default() }).contains("turn.relay_ports"));
        assert!(
            bad(TurnConfig { relay_ports: "6000-5000".into(), ..TurnConfig::default() }).contains("turn.relay_ports")
        );
        assert!(
            bad(TurnConfig { public_ip: "example.org".into(), ..TurnConfig::default() }).contains("turn.public_ip")
        );
        assert!(
            bad(TurnConfig { allowed_peer_ranges: vec!["10.0.0.0/33".into()], ..TurnConfig::default() })
                .contains("allowed_peer_ranges")
        );
        assert!(bad(TurnConfig { listen: "3478".into(), ..TurnConfig::default() }).contains("turn.listen"));
        assert!(
            TurnConfig { listen: "bad".into(), enabled: false, ..TurnConfig::default() }.validate("x").is_ok(),
            "off: not read"
        );
        assert_eq!(TurnConfig::default().relay_port_range().ok(), Some(49160..=49999));
    }
}
