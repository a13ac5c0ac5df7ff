//! Removing what dead labs left: a lab whose driver was killed (SIGKILL, a crash, a reboot of
//! /run aside) still has namespaces and a state file. `netlab up` sweeps them before it builds.
//!
//! A lab is dead when its state file names a process that no longer runs (pid and start time), or
//! when lab-named namespaces have no state file at all. The state file is written before anything
//! is built, so a live lab is never mistaken for an orphan.

use std::collections::BTreeSet;

use crate::lab;
use crate::names::{RunId, parse_netns};
use crate::netns;
use crate::state;

/// Tears down every dead lab; returns their run ids.
pub fn sweep() -> Vec<RunId> {
    // Namespaces first: a lab's state file exists before its first namespace, so any namespace
    // listed here whose run has no state file below is truly an orphan.
    let namespaces = netns::list().unwrap_or_default();
    let runs = state::runs();
    let mut dead: BTreeSet<RunId> = runs
        .iter()
        .copied()
        // Dead driver, or a state file that no longer parses.
        .filter(|&id| !state::read(id).is_ok_and(|s| s.driver_alive()))
        .collect();
    for ns in namespaces {
        if let Some((id, _)) = parse_netns(&ns)
            && !runs.contains(&id)
        {
            dead.insert(id);
        }
    }
    for &id in &dead {
        remove_run(id);
    }
    dead.into_iter().collect()
}

/// Tears down one run regardless of its driver (used when the driver is gone).
pub fn remove_run(id: RunId) {
    lab::teardown(id);
    state::remove(id);
}
