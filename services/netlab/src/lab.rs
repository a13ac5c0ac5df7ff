//! Building a planned lab in the kernel, changing its links while it runs, and tearing it down.
//! Nothing is ever created in the root namespace: every link is made inside its namespaces.

use std::net::Ipv4Addr;

use anyhow::{Context, bail};

use crate::delay::Impairment;
use crate::names::{RunId, parse_netns};
use crate::nat::{self, DOWNLINK_QUEUE, Queued, UPLINK_QUEUE};
use crate::netns;
use crate::profile::LinkSpec;
use crate::rates;
use crate::shaper::Shaper;
use crate::topology::{CORE_ADDRESS, HomePlan, LabPlan, PUBLIC_PREFIX_LEN};

/// Which access link: the server's or a home's.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LinkId {
    Server,
    Home(u8),
}

impl std::str::FromStr for LinkId {
    type Err = anyhow::Error;
    fn from_str(s: &str) -> anyhow::Result<Self> {
        match s.parse()? {
            crate::names::HostName::Server => Ok(Self::Server),
            crate::names::HostName::Router(h) => Ok(Self::Home(h)),
            _ => bail!("{s:?} is not a link: name the server or a home (home1)"),
        }
    }
}

impl std::fmt::Display for LinkId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Server => f.write_str("server"),
            Self::Home(h) => write!(f, "home{h}"),
        }
    }
}

struct LinkShapers {
    id: LinkId,
    up: Shaper,
    down: Shaper,
}

/// A built lab. Dropping it stops the shapers but leaves the namespaces: call [`Lab::teardown`].
pub struct Lab {
    pub plan: LabPlan,
    shapers: Vec<LinkShapers>,
    /// Links taken down with `netlab link HOME down`.
    down_links: Vec<LinkId>,
}

impl Lab {
    /// Builds everything in `plan`. On failure, removes what it made.
    pub fn build(plan: LabPlan) -> anyhow::Result<Self> {
        let mut lab = Self { plan, shapers: Vec::new(), down_links: Vec::new() };
        match lab.build_all() {
            Ok(()) => Ok(lab),
            Err(e) => {
                lab.shapers.clear();
                teardown(lab.plan.run_id);
                Err(e)
            }
        }
    }

    fn build_all(&mut self) -> anyhow::Result<()> {
        let plan = self.plan.clone();
        for ns in plan.namespaces() {
            netns::add(&ns)?;
            base_settings(&ns)?;
        }
        let core = plan.core_netns.as_str();
        let bridge = plan.core_bridge.as_str();
        let core_cidr = format!("{CORE_ADDRESS}/{PUBLIC_PREFIX_LEN}");
        run_ip(core, &[&format!("link add {bridge} type bridge"), &format!("addr add {core_cidr} dev {bridge}")])?;
        run_ip(core, &[&format!("link set {bridge} up")])?;
        netns::sysctls(core, &[("net/ipv4/ip_forward", "0")])?;
        let server = &plan.server;
        veth(&server.netns, &server.dev, core, &server.isp_dev)?;
        run_ip(
            &server.netns,
            &[
                &format!("addr add {}/{PUBLIC_PREFIX_LEN} dev {}", server.address, server.dev),
                &format!("link set {} up", server.dev),
                &format!("route add default via {CORE_ADDRESS}"),
            ],
        )?;
        run_ip(core, &[&format!("link set {} master {bridge} up", server.isp_dev)])?;
        for home in &plan.homes {
            build_home(home, core, bridge)?;
        }
        self.apply_rates(LinkId::Server)?;
        for home in &plan.homes {
            self.apply_rates(LinkId::Home(home.index))?;
        }
        for id in std::iter::once(LinkId::Server).chain(plan.homes.iter().map(|h| LinkId::Home(h.index))) {
            let (ns, link) = self.link(id)?;
            let imp = Impairment::of_link(&link);
            let up = Shaper::start(&ns, UPLINK_QUEUE, format!("{id}-up"), imp)?;
            let down = Shaper::start(&ns, DOWNLINK_QUEUE, format!("{id}-down"), imp)?;
            self.shapers.push(LinkShapers { id, up, down });
            self.apply_rules(id)?;
        }
        Ok(())
    }

    /// The namespace holding a link's shaping rules, and its current spec.
    fn link(&self, id: LinkId) -> anyhow::Result<(String, LinkSpec)> {
        match id {
            LinkId::Server => Ok((self.plan.server.netns.clone(), self.plan.server.link)),
            LinkId::Home(h) => {
                let home = self.home(h)?;
                Ok((home.netns.clone(), home.link))
            }
        }
    }

    fn home(&self, index: u8) -> anyhow::Result<&HomePlan> {
        self.plan.home(index).with_context(|| format!("this lab has no home{index}"))
    }

    fn apply_rates(&self, id: LinkId) -> anyhow::Result<()> {
        let buffer = self.plan.buffer_ms;
        let core = &self.plan.core_netns;
        let (ns, dev, isp, link) = match id {
            LinkId::Server => {
                let s = &self.plan.server;
                (&s.netns, &s.dev, &s.isp_dev, s.link)
            }
            LinkId::Home(h) => {
                let home = self.home(h)?;
                (&home.netns, &home.wan_dev, &home.isp_dev, home.link)
            }
        };
        rates::apply(ns, dev, link.up_mbit, buffer)?;
        rates::apply(core, isp, link.down_mbit, buffer)
    }

    /// iptables of the link's namespace: NAT (homes) and the shaping queues of the impaired directions.
    fn apply_rules(&self, id: LinkId) -> anyhow::Result<()> {
        let (ns, link) = self.link(id)?;
        let queued = Queued { up: link.impairs(), down: link.impairs() };
        let rules = match id {
            LinkId::Server => nat::server_rules(&self.plan.server, queued),
            LinkId::Home(h) => nat::router_rules(self.home(h)?, queued),
        };
        netns::iptables_restore(&ns, &rules)
            .with_context(|| format!("installing iptables rules in {ns} (needs NAT and NFQUEUE support)"))
    }

    fn shapers(&self, id: LinkId) -> anyhow::Result<&LinkShapers> {
        self.shapers.iter().find(|s| s.id == id).with_context(|| format!("no shaper for {id}"))
    }

    /// Changes a link's rates; `None` keeps the current one.
    pub fn set_rate(&mut self, id: LinkId, up_mbit: Option<f64>, down_mbit: Option<f64>) -> anyhow::Result<()> {
        let mut link = self.link(id)?.1;
        link.up_mbit = up_mbit.or(link.up_mbit);
        link.down_mbit = down_mbit.or(link.down_mbit);
        link.validate(&id.to_string())?;
        self.store_link(id, link)?;
        self.apply_rates(id)
    }

    /// Changes a link's delay, jitter and loss; `None` keeps the current value.
    pub fn set_impairment(
        &mut self,
        id: LinkId,
        rtt_ms: Option<f64>,
        jitter_ms: Option<f64>,
        loss_pct: Option<f64>,
    ) -> anyhow::Result<()> {
        let mut link = self.link(id)?.1;
        link.rtt_ms = rtt_ms.unwrap_or(link.rtt_ms);
        link.jitter_ms = jitter_ms.unwrap_or(link.jitter_ms);
        link.loss_pct = loss_pct.unwrap_or(link.loss_pct);
        link.validate(&id.to_string())?;
        self.store_link(id, link)?;
        let shapers = self.shapers(id)?;
        let imp = Impairment::of_link(&link);
        shapers.up.set(imp);
        shapers.down.set(imp);
        self.apply_rules(id)
    }

    fn store_link(&mut self, id: LinkId, link: LinkSpec) -> anyhow::Result<()> {
        match id {
            LinkId::Server => self.plan.server.link = link,
            LinkId::Home(h) => self.plan.home_mut(h).with_context(|| format!("no home{h}"))?.link = link,
        }
        Ok(())
    }

    /// Unplugs (or plugs back) a link at the core: the host's end loses carrier, NAT state stays.
    pub fn set_link_up(&mut self, id: LinkId, up: bool) -> anyhow::Result<()> {
        let (ns, dev, isp) = match id {
            LinkId::Server => {
                (self.plan.server.netns.clone(), self.plan.server.dev.clone(), self.plan.server.isp_dev.clone())
            }
            LinkId::Home(h) => {
                let home = self.home(h)?;
                (home.netns.clone(), home.wan_dev.clone(), home.isp_dev.clone())
            }
        };
        let state = if up { "up" } else { "down" };
        run_ip(&self.plan.core_netns, &[&format!("link set {isp} {state}")])?;
        if up {
            // Address resolutions that failed while unplugged would otherwise hold the first
            // packets for up to a second (the ARP retry time).
            run_ip(&ns, &[&format!("neigh flush dev {dev}")])?;
        }
        self.down_links.retain(|l| *l != id);
        if !up {
            self.down_links.push(id);
        }
        Ok(())
    }

    pub fn is_down(&self, id: LinkId) -> bool {
        self.down_links.contains(&id)
    }

    /// Gives a home's router a new WAN address, as an ISP renumbering does: the kernel forgets
    /// the NAT mappings made with the old one, so existing flows break.
    pub fn renumber(&mut self, home: u8) -> anyhow::Result<Ipv4Addr> {
        let old = self.home(home)?.wan_address;
        let new = self.plan.next_wan_address(old)?;
        let (ns, wan) = {
            let h = self.home(home)?;
            (h.netns.clone(), h.wan_dev.clone())
        };
        run_ip(
            &ns,
            &[
                // Old first: a second address in the same subnet would be a secondary, and
                // deleting the primary takes its secondaries along.
                &format!("addr del {old}/{PUBLIC_PREFIX_LEN} dev {wan}"),
                &format!("addr add {new}/{PUBLIC_PREFIX_LEN} dev {wan}"),
                &format!("route replace default via {CORE_ADDRESS} dev {wan}"),
            ],
        )?;
        self.plan.home_mut(home).with_context(|| format!("no home{home}"))?.wan_address = new;
        self.apply_rules(LinkId::Home(home))?;
        Ok(new)
    }

    /// Why a shaper stopped, if one did.
    pub fn shaper_failure(&self) -> Option<String> {
        self.shapers
            .iter()
            .flat_map(|s| [&s.up, &s.down])
            .find_map(|s| s.failure().map(|f| format!("{}: {f}", s.label)))
    }

    /// Packets released and dropped by a link's shapers, per direction (up, down).
    pub fn shaper_counts(&self, id: LinkId) -> Option<((u64, u64), (u64, u64))> {
        let s = self.shapers(id).ok()?;
        Some((s.up.counts(), s.down.counts()))
    }

    /// Stops the shapers and removes every namespace of the lab.
    pub fn teardown(mut self) {
        self.shapers.clear();
        teardown(self.plan.run_id);
    }
}

fn base_settings(ns: &str) -> anyhow::Result<()> {
    run_ip(ns, &["link set lo up"])?;
    // The lab is IPv4 only: no link-local IPv6 paths around the NATs and shapers. (A kernel
    // without IPv6 has no such settings, and no IPv6 either.)
    let _ = netns::sysctls(ns, &[("net/ipv6/conf/all/disable_ipv6", "1"), ("net/ipv6/conf/default/disable_ipv6", "1")]);
    // With br_netfilter loaded, bridged frames would pass iptables and conntrack too.
    let _ = netns::sysctls(ns, &[("net/bridge/bridge-nf-call-iptables", "0")]);
    Ok(())
}

fn build_home(home: &HomePlan, core: &str, bridge: &str) -> anyhow::Result<()> {
    let ns = home.netns.as_str();
    netns::sysctls(ns, &[("net/ipv4/ip_forward", "1")])?;
    veth(ns, &home.wan_dev, core, &home.isp_dev)?;
    let lan = &home.lan_bridge;
    run_ip(
        ns,
        &[
            &format!("addr add {}/{PUBLIC_PREFIX_LEN} dev {}", home.wan_address, home.wan_dev),
            &format!("link set {} up", home.wan_dev),
            &format!("route add default via {CORE_ADDRESS}"),
            &format!("link add {lan} type bridge"),
            &format!("addr add {}/24 dev {lan}", home.lan_address),
            &format!("link set {lan} up"),
        ],
    )?;
    run_ip(core, &[&format!("link set {} master {bridge} up", home.isp_dev)])?;
    for client in &home.clients {
        let (low, high) = client.ports;
        netns::sysctls(&client.netns, &[("net/ipv4/ip_local_port_range", &format!("{low} {high}"))])?;
        veth(&client.netns, &client.dev, ns, &client.router_port)?;
        run_ip(
            &client.netns,
            &[
                &format!("addr add {}/24 dev {}", client.address, client.dev),
                &format!("link set {} up", client.dev),
                &format!("route add default via {}", home.lan_address),
            ],
        )?;
        run_ip(ns, &[&format!("link set {} master {lan} up", client.router_port)])?;
    }
    Ok(())
}

/// A veth pair made inside the two namespaces. Segmentation offload is off (one segment per
/// packet): packets are wire-sized everywhere, so rate queues count real packets and a loss
/// takes one packet, not a 64 KB burst.
fn veth(ns_a: &str, dev_a: &str, ns_b: &str, dev_b: &str) -> anyhow::Result<()> {
    run_ip(ns_a, &[&format!("link add {dev_a} type veth peer name {dev_b} netns {ns_b}")])?;
    run_ip(ns_a, &[&format!("link set {dev_a} gso_max_segs 1")])?;
    run_ip(ns_b, &[&format!("link set {dev_b} gso_max_segs 1")])
}

fn run_ip(ns: &str, commands: &[&str]) -> anyhow::Result<()> {
    for command in commands {
        let args: Vec<&str> = command.split_whitespace().collect();
        netns::ip(Some(ns), &args)?;
    }
    Ok(())
}

/// How long processes left in a lab's namespaces get to exit on SIGTERM before SIGKILL.
const KILL_GRACE: std::time::Duration = std::time::Duration::from_secs(2);

/// Removes every namespace of run `run_id` (found by name), first ending the processes still in
/// them. Their links and iptables rules go with them. Errors are ignored: whatever remains is
/// found again by name next time.
pub fn teardown(run_id: RunId) {
    let namespaces: Vec<String> = netns::list()
        .unwrap_or_default()
        .into_iter()
        .filter(|ns| parse_netns(ns).is_some_and(|(id, _)| id == run_id))
        .collect();
    let me = rustix::process::getpid().as_raw_nonzero().get();
    let signal_all = |signal| {
        let mut any = false;
        for ns in &namespaces {
            for pid in netns::pids(ns).into_iter().filter(|&p| p != me) {
                if let Some(pid) = rustix::process::Pid::from_raw(pid) {
                    any |= rustix::process::kill_process(pid, signal).is_ok();
                }
            }
        }
        any
    };
    if signal_all(rustix::process::Signal::TERM) {
        let deadline = std::time::Instant::now() + KILL_GRACE;
        while std::time::Instant::now() < deadline && namespaces.iter().any(|ns| !netns::pids(ns).is_empty()) {
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        signal_all(rustix::process::Signal::KILL);
    }
    // Clients first, then routers, server and core: each veth goes with the first of its ends.
    for ns in namespaces.iter().rev() {
        let _ = netns::delete(ns);
    }
}
