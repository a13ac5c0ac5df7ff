//! A lab's life:
//! - a driver killed with SIGKILL leaves namespaces and a state file, and the next `netlab up`
//!   removes them all; afterwards nothing of either run is in `ip netns list` or the root
//!   namespace's `ip link`;
//! - `netlab down` tears down everything;
//! - `netlab up --detach` returns once the lab is ready, and `netlab wait` agrees;
//! - without its tools, `netlab up` stops at once naming them;
//! - a calibrated home-party lab is within 10 % on every figure.

use std::process::Command;

use cinemesh_netlab::state;

use crate::helpers::{BIN, TestLab, fresh_run_id, leftovers, one_lab_at_a_time, root};

#[test]
fn the_next_start_removes_everything_a_killed_driver_left() {
    if !root() {
        return;
    }
    let _alone = one_lab_at_a_time();
    let mut killed = TestLab::up("lan", "port-restricted:2,symmetric");
    let killed_id = killed.run_id;
    killed.kill_driver();
    let left = killed.leftovers();
    assert!(left.iter().any(|l| l.ends_with(".json")), "the state file should outlive SIGKILL: {left:?}");
    assert!(left.iter().filter(|l| l.starts_with(&killed_id.prefix())).count() >= 6, "{left:?}");

    let next = TestLab::up("lan", "full-cone");
    assert_eq!(leftovers(killed_id), Vec::<String>::new(), "the killed run left these behind");
    let next_id = next.run_id;
    let output = next.down();
    assert!(output.contains("tearing down"), "{output}");
    assert_eq!(leftovers(next_id), Vec::<String>::new());

    let netns = Command::new("ip").args(["netns", "list"]).output().unwrap();
    let links = Command::new("ip").args(["link"]).output().unwrap();
    for text in [String::from_utf8_lossy(&netns.stdout), String::from_utf8_lossy(&links.stdout)] {
        for id in [killed_id, next_id] {
            assert!(!text.contains(&id.prefix()), "{} still in\n{text}", id.prefix());
        }
    }
}

#[test]
fn a_detached_lab_is_ready_when_up_returns_and_down_ends_it() {
    if !root() {
        return;
    }
    let _alone = one_lab_at_a_time();
    let id = fresh_run_id();
    let up = Command::new(BIN)
        .args(["up", "lan", "--homes", "symmetric", "--no-calibrate", "--detach", "--run-id", id.as_str()])
        .output()
        .unwrap();
    assert!(up.status.success(), "{}", String::from_utf8_lossy(&up.stderr));
    assert!(String::from_utf8_lossy(&up.stdout).contains("home1-c1"));
    let lab = state::read(id).unwrap();
    assert!(lab.ready && lab.driver_alive());
    let wait = Command::new(BIN).args(["wait", "--run-id", id.as_str(), "--timeout-secs", "5"]).output().unwrap();
    assert!(wait.status.success());
    let down = Command::new(BIN).args(["down", "--run-id", id.as_str()]).output().unwrap();
    assert!(down.status.success());
    assert!(!lab.driver_alive());
    assert_eq!(leftovers(id), Vec::<String>::new());
}

#[test]
fn without_its_tools_up_stops_at_once_naming_them() {
    if !root() {
        return;
    }
    let _alone = one_lab_at_a_time();
    let empty = std::env::temp_dir().join(format!("netlab-no-tools-{}", std::process::id()));
    std::fs::create_dir_all(&empty).unwrap();
    let out = Command::new(BIN).args(["up", "lan"]).env("PATH", &empty).output().unwrap();
    std::fs::remove_dir_all(&empty).unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    for missing in
        ["ip (Debian package iproute2)", "tc (Debian package iproute2)", "iptables-restore (Debian package iptables)"]
    {
        assert!(err.contains(missing), "{missing:?} not named in {err}");
    }
}

#[test]
fn a_calibrated_home_party_lab_is_within_ten_percent_on_every_figure() {
    if !root() {
        return;
    }
    let _alone = one_lab_at_a_time();
    let lab = TestLab::up_with("home-party", "port-restricted", &[]);
    let output = lab.down();
    assert!(output.contains("all 12 figures within 10 %"), "{output}");
    assert!(output.contains("shaper CPU:"), "{output}");
}
