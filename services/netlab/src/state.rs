//! The state file of a run, `/run/netlab/<run id>.json`: who drives the lab, whether it is ready,
//! and every host. It is written before anything is built (so a crash at any point leaves a trace
//! to clean up) and removed last. Scripts may read it; `netlab wait` waits for `ready: true`.

use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use serde::{Deserialize, Serialize};

use crate::names::RunId;
use crate::topology::{LabPlan, NatKind};

pub const STATE_DIR: &str = "/run/netlab";

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LabState {
    pub run_id: RunId,
    /// The driver process (`netlab up`).
    pub pid: i32,
    /// Its start time (clock ticks since boot, /proc/PID/stat field 22): a recycled pid is not it.
    pub pid_start: u64,
    /// Built, calibrated (unless skipped) and shaping.
    pub ready: bool,
    pub profile: String,
    /// Unix socket taking `netlab link`, `renumber`, `calibrate` and `down` requests.
    pub control_socket: PathBuf,
    pub hosts: Vec<HostEntry>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct HostEntry {
    /// `server`, `home1`, `home1-c1`.
    pub name: String,
    pub netns: String,
    /// Server: its public address; router: its WAN address; client: its LAN address.
    pub address: Ipv4Addr,
    /// Clients: the address the internet sees (their router's WAN address).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub public_address: Option<Ipv4Addr>,
    /// Routers: their LAN address, the clients' gateway.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lan_address: Option<Ipv4Addr>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nat: Option<NatKind>,
}

impl LabState {
    pub fn new(plan: Option<&LabPlan>, run_id: RunId, profile: &str) -> anyhow::Result<Self> {
        let pid = rustix::process::getpid().as_raw_nonzero().get();
        Ok(Self {
            run_id,
            pid,
            pid_start: process_start(pid).context("reading this process's start time")?,
            ready: false,
            profile: profile.to_string(),
            control_socket: dir().join(format!("{run_id}.sock")),
            hosts: plan.map(hosts_of).unwrap_or_default(),
        })
    }

    /// Whether the driver that wrote this is still running.
    pub fn driver_alive(&self) -> bool {
        process_start(self.pid) == Some(self.pid_start)
    }

    pub fn host(&self, name: &str) -> anyhow::Result<&HostEntry> {
        self.hosts.iter().find(|h| h.name == name).with_context(|| {
            let names: Vec<&str> = self.hosts.iter().map(|h| h.name.as_str()).collect();
            format!("run {} has no host {name:?}; it has: {}", self.run_id, names.join(", "))
        })
    }
}

/// The host table of a plan.
pub fn hosts_of(plan: &LabPlan) -> Vec<HostEntry> {
    let mut hosts = vec![HostEntry {
        name: "server".into(),
        netns: plan.server.netns.clone(),
        address: plan.server.address,
        public_address: None,
        lan_address: None,
        nat: None,
    }];
    for home in &plan.homes {
        hosts.push(HostEntry {
            name: home.host.to_string(),
            netns: home.netns.clone(),
            address: home.wan_address,
            public_address: None,
            lan_address: Some(home.lan_address),
            nat: Some(home.nat),
        });
        for client in &home.clients {
            hosts.push(HostEntry {
                name: client.host.to_string(),
                netns: client.netns.clone(),
                address: client.address,
                public_address: Some(home.wan_address),
                lan_address: None,
                nat: Some(home.nat),
            });
        }
    }
    hosts
}

/// The state directory: `/run/netlab`, shared by every lab on the machine.
pub fn dir() -> PathBuf {
    PathBuf::from(STATE_DIR)
}

pub fn path(run_id: RunId) -> PathBuf {
    dir().join(format!("{run_id}.json"))
}

pub fn log_path(run_id: RunId) -> PathBuf {
    dir().join(format!("{run_id}.log"))
}

/// Creates the state file of a new run, complete from its first moment; fails if the run id is
/// taken.
pub fn create(state: &LabState) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir()).with_context(|| format!("creating {STATE_DIR}"))?;
    let target = path(state.run_id);
    let tmp = target.with_extension(format!("json.new{}", state.pid));
    std::fs::write(&tmp, serde_json::to_vec_pretty(state)?).with_context(|| format!("writing {}", tmp.display()))?;
    // A hard link appears whole and only if nothing has the name yet.
    let linked = std::fs::hard_link(&tmp, &target);
    let _ = std::fs::remove_file(&tmp);
    match linked {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => bail!("run id {} is in use", state.run_id),
        Err(e) => Err(e).with_context(|| format!("creating {}", target.display())),
    }
}

/// Replaces the state file (written aside, then renamed: readers never see half a file).
pub fn write(state: &LabState) -> anyhow::Result<()> {
    let target = path(state.run_id);
    let tmp = target.with_extension(format!("json.tmp{}", std::process::id()));
    std::fs::write(&tmp, serde_json::to_vec_pretty(state)?).with_context(|| format!("writing {}", tmp.display()))?;
    std::fs::rename(&tmp, &target).with_context(|| format!("renaming to {}", target.display()))?;
    Ok(())
}

pub fn read(run_id: RunId) -> anyhow::Result<LabState> {
    read_path(&path(run_id))
}

fn read_path(path: &Path) -> anyhow::Result<LabState> {
    let text = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    serde_json::from_slice(&text).with_context(|| format!("parsing {}", path.display()))
}

/// Run ids that have a state file.
pub fn runs() -> Vec<RunId> {
    let Ok(entries) = std::fs::read_dir(dir()) else { return Vec::new() };
    let mut ids: Vec<RunId> = entries
        .filter_map(|e| e.ok())
        .filter_map(|e| e.file_name().to_str()?.strip_suffix(".json")?.parse().ok())
        .collect();
    ids.sort();
    ids
}

/// Removes every file of a run: state, control socket, log, half-written copies.
pub fn remove(run_id: RunId) {
    let prefix = format!("{run_id}.");
    let Ok(entries) = std::fs::read_dir(dir()) else { return };
    for entry in entries.filter_map(|e| e.ok()) {
        if entry.file_name().to_str().is_some_and(|n| n.starts_with(&prefix)) {
            let _ = std::fs::remove_file(entry.path());
        }
    }
}

/// The run a command acts on: `run_id` if given, else the only live one.
pub fn resolve(run_id: Option<RunId>) -> anyhow::Result<LabState> {
    if let Some(id) = run_id {
        return read(id).with_context(|| format!("no lab with run id {id}"));
    }
    let live = live();
    match live.as_slice() {
        [] => bail!("no lab is running (start one with `netlab up PROFILE`)"),
        [one] => Ok(one.clone()),
        many => {
            let ids: Vec<String> = many.iter().map(|s| s.run_id.to_string()).collect();
            bail!("several labs are running ({}): pick one with --run-id or NETLAB_RUN_ID", ids.join(", "))
        }
    }
}

/// Labs whose driver runs.
pub fn live() -> Vec<LabState> {
    runs().into_iter().filter_map(|id| read(id).ok()).filter(LabState::driver_alive).collect()
}

/// The start time of process `pid` in clock ticks after boot, if it runs.
pub fn process_start(pid: i32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the command name (which may hold spaces) start after the last ')'.
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    // Field 3 (state) is fields[0]; field 22 (starttime) is fields[19]. A zombie has exited.
    if fields.first() == Some(&"Z") {
        return None;
    }
    fields.get(19)?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::profile::ProfileFile;
    use crate::topology::parse_homes;

    #[test]
    fn this_process_is_alive_and_a_made_up_one_is_not() {
        let me = rustix::process::getpid().as_raw_nonzero().get();
        let state = LabState::new(None, "0001".parse().unwrap(), "lan").unwrap();
        assert_eq!(state.pid, me);
        assert!(state.driver_alive());
        assert!(!LabState { pid_start: state.pid_start + 1, ..state.clone() }.driver_alive());
        assert!(process_start(i32::MAX).is_none());
    }

    #[test]
    fn hosts_list_the_server_routers_and_clients_with_their_addresses() {
        let file = ProfileFile::load(None).unwrap();
        let plan = LabPlan::new(
            "0001".parse().unwrap(),
            "lan",
            file.get("lan").unwrap(),
            &parse_homes("symmetric:2").unwrap(),
            None,
        )
        .unwrap();
        let hosts = hosts_of(&plan);
        let names: Vec<&str> = hosts.iter().map(|h| h.name.as_str()).collect();
        assert_eq!(names, ["server", "home1", "home1-c1", "home1-c2"]);
        assert_eq!(hosts[2].public_address, Some(Ipv4Addr::new(203, 0, 113, 101)));
        assert_eq!(hosts[1].lan_address, Some(Ipv4Addr::new(192, 168, 1, 1)));
    }

    #[test]
    fn state_round_trips_through_json() {
        let state = LabState::new(None, "0002".parse().unwrap(), "lan").unwrap();
        let back: LabState = serde_json::from_str(&serde_json::to_string(&state).unwrap()).unwrap();
        assert_eq!(back, state);
    }
}
