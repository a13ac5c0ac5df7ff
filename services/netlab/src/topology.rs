//! The lab's layout as data: hosts, links, addresses. Pure: building it touches nothing.
//!
//! ```text
//!   nlID-core: bridge nlID-core, 203.0.113.1/24 (the "internet"; forwards nothing, no way out)
//!     |-- nlID-srv-isp ==veth== nlID-srv        nlID-server   203.0.113.10
//!     |-- nlID-h1-isp  ==veth== nlID-h1-wan     nlID-home1    203.0.113.101 (WAN)
//!     |                                           bridge nlID-h1-lan 192.168.1.1/24, NAT
//!     |                                             |-- nlID-h1c1p ==veth== nlID-h1c1  nlID-home1-c1 192.168.1.11
//!     |                                             '-- nlID-h1c2p ==veth== nlID-h1c2  nlID-home1-c2 192.168.1.12
//!     '-- ... home N: WAN 203.0.113.(100+N), LAN 192.168.N.0/24
//! ```
//! Public addresses come from the documentation range 203.0.113.0/24 (TEST-NET-3). Hosts have a
//! default route towards the core, which forwards nothing: anything not in the lab is unreachable.

use std::fmt;
use std::net::Ipv4Addr;
use std::str::FromStr;

use anyhow::{Context, bail};
use serde::{Deserialize, Serialize};

use crate::names::{HostName, MAX_CLIENTS, MAX_HOMES, RunId};
use crate::profile::{LinkSpec, Profile};

/// The core's own address: hosts' default gateway (it forwards nothing) and calibration's far end.
pub const CORE_ADDRESS: Ipv4Addr = Ipv4Addr::new(203, 0, 113, 1);
pub const SERVER_ADDRESS: Ipv4Addr = Ipv4Addr::new(203, 0, 113, 10);
pub const PUBLIC_PREFIX_LEN: u8 = 24;
/// WAN addresses handed out by `netlab renumber`, in turn.
pub const RENUMBER_POOL: std::ops::RangeInclusive<u8> = 160..=254;

/// Each client's share of ephemeral ports (ip_local_port_range in its namespace): client k uses
/// 20000 + (k-1)*5000 ..= 24999 + (k-1)*5000. NATs keep source ports, so an external port tells
/// which client it belongs to; that is what per-port full-cone mapping and hairpinning use.
pub const CLIENT_PORTS_BASE: u16 = 20000;
pub const CLIENT_PORTS_SPAN: u16 = 5000;

/// How a home's router translates.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum NatKind {
    /// Endpoint-independent mapping and filtering: MASQUERADE plus a DNAT of every inbound UDP port.
    FullCone,
    /// Endpoint-independent mapping, address-and-port-dependent filtering: plain MASQUERADE.
    PortRestricted,
    /// A new random external port for every destination: MASQUERADE --random-fully.
    Symmetric,
}

impl FromStr for NatKind {
    type Err = anyhow::Error;
    fn from_str(s: &str) -> anyhow::Result<Self> {
        match s {
            "full-cone" => Ok(Self::FullCone),
            "port-restricted" => Ok(Self::PortRestricted),
            "symmetric" => Ok(Self::Symmetric),
            _ => bail!("unknown NAT kind {s:?}: full-cone, port-restricted or symmetric"),
        }
    }
}

impl fmt::Display for NatKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::FullCone => "full-cone",
            Self::PortRestricted => "port-restricted",
            Self::Symmetric => "symmetric",
        })
    }
}

/// One home as given on the command line: `symmetric` or `port-restricted:2` (two clients).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HomeSpec {
    pub nat: NatKind,
    pub clients: u8,
}

/// Parses `full-cone,port-restricted:2,symmetric`.
pub fn parse_homes(spec: &str) -> anyhow::Result<Vec<HomeSpec>> {
    let homes = spec
        .split(',')
        .map(|item| {
            let item = item.trim();
            let (nat, clients) = match item.split_once(':') {
                None => (item, 1),
                Some((nat, n)) => (nat, n.parse::<u8>().with_context(|| format!("client count in {item:?}"))?),
            };
            if !(1..=MAX_CLIENTS).contains(&clients) {
                bail!("{item:?}: a home has 1 to {MAX_CLIENTS} clients");
            }
            Ok(HomeSpec { nat: nat.parse()?, clients })
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    if homes.is_empty() || homes.len() > usize::from(MAX_HOMES) {
        bail!("a lab has 1 to {MAX_HOMES} homes, got {}", homes.len());
    }
    Ok(homes)
}

#[derive(Clone, Debug, PartialEq)]
pub struct ClientPlan {
    pub host: HostName,
    pub netns: String,
    /// The client's end of its LAN veth.
    pub dev: String,
    /// The router's end, a port of the LAN bridge.
    pub router_port: String,
    pub address: Ipv4Addr,
    /// Its ephemeral port range (inclusive).
    pub ports: (u16, u16),
}

#[derive(Clone, Debug, PartialEq)]
pub struct HomePlan {
    pub index: u8,
    pub host: HostName,
    pub netns: String,
    pub nat: NatKind,
    /// The router's end of the access link.
    pub wan_dev: String,
    /// The core's end of the access link.
    pub isp_dev: String,
    pub lan_bridge: String,
    pub wan_address: Ipv4Addr,
    pub lan_address: Ipv4Addr,
    pub link: LinkSpec,
    pub clients: Vec<ClientPlan>,
}

impl HomePlan {
    pub fn lan_prefix(&self) -> Ipv4Addr {
        Ipv4Addr::new(192, 168, self.index, 0)
    }

    /// Whether clients reach each other through the router's public address.
    pub fn hairpins(&self) -> bool {
        self.clients.len() > 1 && self.nat != NatKind::Symmetric
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct ServerPlan {
    pub netns: String,
    pub dev: String,
    pub isp_dev: String,
    pub address: Ipv4Addr,
    pub link: LinkSpec,
}

#[derive(Clone, Debug, PartialEq)]
pub struct LabPlan {
    pub run_id: RunId,
    pub profile: String,
    pub buffer_ms: f64,
    pub core_netns: String,
    pub core_bridge: String,
    pub server: ServerPlan,
    pub homes: Vec<HomePlan>,
}

impl LabPlan {
    pub fn new(
        run_id: RunId,
        profile_name: &str,
        profile: &Profile,
        homes: &[HomeSpec],
        server_uplink_mbit: Option<f64>,
    ) -> anyhow::Result<Self> {
        let id = run_id.prefix();
        let mut server_link = profile.server;
        if let Some(rate) = server_uplink_mbit {
            server_link.up_mbit = Some(rate);
        }
        server_link.validate("server link")?;
        profile.home.validate("home link")?;
        if homes.len() > usize::from(MAX_HOMES) {
            bail!("a lab has at most {MAX_HOMES} homes");
        }
        let homes = (1..=MAX_HOMES)
            .zip(homes)
            .map(|(index, spec)| {
                let clients = (1..=spec.clients)
                    .map(|k| {
                        let low = CLIENT_PORTS_BASE + (u16::from(k) - 1) * CLIENT_PORTS_SPAN;
                        ClientPlan {
                            host: HostName::Client(index, k),
                            netns: run_id.netns(HostName::Client(index, k)),
                            dev: format!("{id}h{index}c{k}"),
                            router_port: format!("{id}h{index}c{k}p"),
                            address: Ipv4Addr::new(192, 168, index, 10 + k),
                            ports: (low, low + CLIENT_PORTS_SPAN - 1),
                        }
                    })
                    .collect();
                HomePlan {
                    index,
                    host: HostName::Router(index),
                    netns: run_id.netns(HostName::Router(index)),
                    nat: spec.nat,
                    wan_dev: format!("{id}h{index}-wan"),
                    isp_dev: format!("{id}h{index}-isp"),
                    lan_bridge: format!("{id}h{index}-lan"),
                    wan_address: Ipv4Addr::new(203, 0, 113, 100 + index),
                    lan_address: Ipv4Addr::new(192, 168, index, 1),
                    link: profile.home,
                    clients,
                }
            })
            .collect();
        Ok(Self {
            run_id,
            profile: profile_name.to_string(),
            buffer_ms: profile.buffer_ms,
            core_netns: run_id.netns(HostName::Core),
            core_bridge: format!("{id}core"),
            server: ServerPlan {
                netns: run_id.netns(HostName::Server),
                dev: format!("{id}srv"),
                isp_dev: format!("{id}srv-isp"),
                address: SERVER_ADDRESS,
                link: server_link,
            },
            homes,
        })
    }

    pub fn home(&self, index: u8) -> Option<&HomePlan> {
        self.homes.iter().find(|h| h.index == index)
    }

    pub fn home_mut(&mut self, index: u8) -> Option<&mut HomePlan> {
        self.homes.iter_mut().find(|h| h.index == index)
    }

    /// Every namespace of the lab, core first.
    pub fn namespaces(&self) -> Vec<String> {
        let mut all = vec![self.core_netns.clone(), self.server.netns.clone()];
        for home in &self.homes {
            all.push(home.netns.clone());
            all.extend(home.clients.iter().map(|c| c.netns.clone()));
        }
        all
    }

    /// The next WAN address for a renumbered home: the first of the pool after `current` that no
    /// home holds.
    pub fn next_wan_address(&self, current: Ipv4Addr) -> anyhow::Result<Ipv4Addr> {
        let taken: Vec<Ipv4Addr> = self.homes.iter().map(|h| h.wan_address).collect();
        let pool: Vec<u8> = RENUMBER_POOL.collect();
        let start = pool.iter().position(|&o| Ipv4Addr::new(203, 0, 113, o) == current).map_or(0, |p| p + 1);
        (0..pool.len())
            .map(|i| Ipv4Addr::new(203, 0, 113, pool[(start + i) % pool.len()]))
            .find(|a| !taken.contains(a))
            .context("no free WAN address left in the renumbering pool")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::profile::ProfileFile;

    fn plan(homes: &str) -> LabPlan {
        let file = ProfileFile::load(None).unwrap();
        let id: RunId = "3f2a".parse().unwrap();
        LabPlan::new(id, "home-party", file.get("home-party").unwrap(), &parse_homes(homes).unwrap(), Some(20.0))
            .unwrap()
    }

    #[test]
    fn homes_parse_with_optional_client_counts() {
        let homes = parse_homes("full-cone, port-restricted:2,symmetric").unwrap();
        assert_eq!(homes[0], HomeSpec { nat: NatKind::FullCone, clients: 1 });
        assert_eq!(homes[1], HomeSpec { nat: NatKind::PortRestricted, clients: 2 });
        assert_eq!(homes[2].nat, NatKind::Symmetric);
        for bad in ["", "cone", "symmetric:0", "symmetric:9", "symmetric:x"] {
            assert!(parse_homes(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn addresses_follow_the_documented_layout() {
        let lab = plan("full-cone,port-restricted:2");
        assert_eq!(lab.server.address, Ipv4Addr::new(203, 0, 113, 10));
        let home2 = lab.home(2).unwrap();
        assert_eq!(home2.wan_address, Ipv4Addr::new(203, 0, 113, 102));
        assert_eq!(home2.lan_address, Ipv4Addr::new(192, 168, 2, 1));
        assert_eq!(home2.clients[1].address, Ipv4Addr::new(192, 168, 2, 12));
        assert_eq!(home2.clients[1].ports, (25000, 29999));
        assert_eq!(home2.clients[1].netns, "nl3f2a-home2-c2");
        assert!(home2.hairpins() && !lab.home(1).unwrap().hairpins());
    }

    #[test]
    fn every_name_carries_the_run_id_and_fits_the_kernel_limit() {
        let lab = plan(&vec!["port-restricted:8"; 32].join(","));
        let mut links = vec![lab.core_bridge.clone(), lab.server.dev.clone(), lab.server.isp_dev.clone()];
        for home in &lab.homes {
            links.extend([home.wan_dev.clone(), home.isp_dev.clone(), home.lan_bridge.clone()]);
            for client in &home.clients {
                links.extend([client.dev.clone(), client.router_port.clone()]);
            }
        }
        for name in links.iter().chain(&lab.namespaces()) {
            assert!(name.starts_with("nl3f2a-"), "{name}");
        }
        for link in &links {
            assert!(link.len() <= 15, "{link} is longer than IFNAMSIZ-1");
        }
        let mut unique = links.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(unique.len(), links.len());
    }

    #[test]
    fn the_server_uplink_override_replaces_the_profile_rate() {
        assert_eq!(plan("symmetric").server.link.up_mbit, Some(20.0));
    }

    #[test]
    fn renumbering_walks_the_pool_and_skips_taken_addresses() {
        let mut lab = plan("symmetric,symmetric");
        let first = lab.next_wan_address(lab.homes[0].wan_address).unwrap();
        assert_eq!(first, Ipv4Addr::new(203, 0, 113, 160));
        lab.homes[1].wan_address = Ipv4Addr::new(203, 0, 113, 161);
        assert_eq!(lab.next_wan_address(first).unwrap(), Ipv4Addr::new(203, 0, 113, 162));
        assert_eq!(lab.next_wan_address(Ipv4Addr::new(203, 0, 113, 254)).unwrap(), Ipv4Addr::new(203, 0, 113, 160));
    }
}
