//! What `netlab up` needs before it builds anything: root, iproute2, iptables, and a kernel with
//! NAT, HTB and NFQUEUE. Each failure names what is missing.

use std::path::Path;

use anyhow::bail;

use crate::netns;
use crate::nfqueue::NfQueue;

/// Programs the lab runs, and the Debian package of each.
const TOOLS: &[(&str, &str)] = &[("ip", "iproute2"), ("tc", "iproute2"), ("iptables-restore", "iptables")];

/// Root and the programs on PATH.
pub fn check_user_space() -> anyhow::Result<()> {
    if !rustix::process::geteuid().is_root() {
        bail!("netlab needs root: it creates network namespaces, links and iptables rules (run it with sudo)");
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    let missing: Vec<String> = TOOLS
        .iter()
        .filter(|(tool, _)| !std::env::split_paths(&path).any(|dir| is_executable(&dir.join(tool))))
        .map(|(tool, package)| format!("{tool} (Debian package {package})"))
        .collect();
    if !missing.is_empty() {
        bail!("netlab needs these programs on PATH: {}", missing.join(", "));
    }
    Ok(())
}

fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    path.metadata().is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

/// The kernel features, tried in a scratch namespace `ns` that this removes again.
pub fn check_kernel(ns: &str) -> anyhow::Result<()> {
    netns::add(ns).map_err(|e| anyhow::anyhow!("cannot create a network namespace: {e:#}"))?;
    let result = try_features(ns);
    let _ = netns::delete(ns);
    result
}

fn try_features(ns: &str) -> anyhow::Result<()> {
    netns::ip(Some(ns), &["link", "add", "probe0", "type", "bridge"])
        .map_err(|e| anyhow::anyhow!("the kernel cannot make bridges: {e:#}"))?;
    netns::ip(Some(ns), &["link", "add", "probe1", "type", "veth", "peer", "name", "probe2"])
        .map_err(|e| anyhow::anyhow!("the kernel cannot make veth pairs: {e:#}"))?;
    netns::tc(ns, &["qdisc", "add", "dev", "probe1", "root", "handle", "1:", "htb", "default", "10"])
        .map_err(|e| anyhow::anyhow!("the kernel has no HTB qdisc (sch_htb): {e:#}"))?;
    netns::within(ns, || Ok(NfQueue::bind(0, 16)))?.map_err(|e| {
        anyhow::anyhow!("the kernel has no NFQUEUE (nfnetlink_queue, CONFIG_NETFILTER_NETLINK_QUEUE): {e}")
    })?;
    let rules = "*nat\n:POSTROUTING ACCEPT [0:0]\n-A POSTROUTING -o probe1 -j MASQUERADE --random-fully\nCOMMIT\n\
                 *filter\n:OUTPUT ACCEPT [0:0]\n-A OUTPUT -o probe1 -j NFQUEUE --queue-num 0\nCOMMIT\n";
    netns::iptables_restore(ns, rules).map_err(|e| {
        anyhow::anyhow!("iptables cannot install MASQUERADE or NFQUEUE rules (nf_nat, xt_NFQUEUE/nft_queue): {e:#}")
    })?;
    Ok(())
}
