//! Links and hosts at run time:
//! - `netlab link HOME down` stops traffic and `up` restores it;
//! - delay and loss set with `netlab link HOME delay` show up in echo probes, loss each way;
//! - `netlab link HOME rate` changes what a paced sender gets through;
//! - `netlab exec` runs in the host's namespace and passes the exit code through;
//! - `netlab hosts` lists every host with its address.

use std::net::SocketAddr;
use std::process::{Command, Stdio};

use cinemesh_netlab::bulk::SinkReport;
use cinemesh_netlab::probe::ProbeReport;

use crate::helpers::{BIN, SERVER, TestLab, one_lab_at_a_time, recv, root};

/// Whether a datagram from the client reaches the server and the answer comes back.
fn round_trip(lab: &TestLab) -> bool {
    let server = lab.udp("server", SocketAddr::from((SERVER, 0)));
    let client = lab.udp("home1-c1", "0.0.0.0:0".parse().unwrap());
    client.send_to(b"ping", server.local_addr().unwrap()).unwrap();
    let Some((_, from)) = recv(&server) else { return false };
    server.send_to(b"pong", from).unwrap();
    recv(&client).is_some()
}

#[test]
fn an_unplugged_link_carries_nothing_until_it_is_plugged_back() {
    if !root() {
        return;
    }
    let _alone = one_lab_at_a_time();
    let lab = TestLab::up("lan", "port-restricted");
    assert!(round_trip(&lab));
    assert!(lab.netlab(&["link", "home1", "down"]).status.success());
    assert!(!round_trip(&lab));
    assert!(lab.netlab(&["link", "home1", "up"]).status.success());
    assert!(round_trip(&lab), "traffic did not resume at once");
}

/// Runs the hidden echo in the server and probes it from `client`.
fn probe(lab: &TestLab, client: &str, count: u32, interval_us: u32) -> ProbeReport {
    let mut echo = Command::new(BIN)
        .args(["_echo", "--netns", &lab.netns("server"), "--bind", &format!("{SERVER}:7007"), "--secs", "60"])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut ready = String::new();
    std::io::BufRead::read_line(&mut std::io::BufReader::new(echo.stdout.as_mut().unwrap()), &mut ready).unwrap();
    let out = Command::new(BIN)
        .args(["_probe", "--netns", &lab.netns(client), "--target", &format!("{SERVER}:7007")])
        .args(["--count", &count.to_string(), "--interval-us", &interval_us.to_string(), "--skip", "3"])
        .output()
        .unwrap();
    echo.kill().unwrap();
    echo.wait().unwrap();
    assert!(out.status.success());
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn delay_and_loss_set_on_a_link_show_up_in_probes_each_way() {
    if !root() {
        return;
    }
    let _alone = one_lab_at_a_time();
    let lab = TestLab::up("lan", "symmetric");
    let before = probe(&lab, "home1-c1", 50, 5_000);
    assert!(before.rtt_median_ms.unwrap() < 5.0, "{before:?}");

    let out = lab.netlab(&["link", "home1", "delay", "--rtt-ms", "60", "--jitter-ms", "4", "--loss-pct", "10"]);
    assert!(out.status.success());
    let after = probe(&lab, "home1-c1", 400, 5_000);
    let median = after.rtt_median_ms.unwrap();
    assert!((57.0..66.0).contains(&median), "median RTT {median} ms, set 60 ms");
    let p95 = after.rtt_p95_ms.unwrap();
    assert!((58.0..68.0).contains(&p95), "p95 RTT {p95} ms, set 60 ± 4 ms");
    // Even loss: exactly one drop per run of 10 packets, so the counts are 10 % ± 1 packet.
    let up = after.up_loss_pct().unwrap();
    let down = after.down_loss_pct().unwrap();
    assert!((up - 10.0).abs() <= 0.5, "up loss {up} %");
    assert!((down - 10.0).abs() <= 0.5, "down loss {down} %");

    assert!(
        lab.netlab(&["link", "home1", "delay", "--rtt-ms", "0", "--jitter-ms", "0", "--loss-pct", "0"])
            .status
            .success()
    );
    let cleared = probe(&lab, "home1-c1", 50, 5_000);
    assert!(cleared.rtt_median_ms.unwrap() < 5.0 && cleared.received == 50, "{cleared:?}");
}

#[test]
fn a_rate_change_caps_what_a_paced_sender_gets_through() {
    if !root() {
        return;
    }
    let _alone = one_lab_at_a_time();
    let lab = TestLab::up("lan", "full-cone");
    // A first limit, then a change of it.
    assert!(lab.netlab(&["link", "home1", "rate", "--up-mbit", "8"]).status.success());
    assert!(lab.netlab(&["link", "home1", "rate", "--up-mbit", "4"]).status.success());
    let mut sink = Command::new(BIN)
        .args(["_sink", "--netns", &lab.netns("server"), "--bind", &format!("{SERVER}:7100"), "--max-secs", "10"])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = std::io::BufReader::new(sink.stdout.take().unwrap());
    let mut line = String::new();
    std::io::BufRead::read_line(&mut stdout, &mut line).unwrap();
    let blast = Command::new(BIN)
        .args(["_blast", "--netns", &lab.netns("home1-c1"), "--to", &format!("{SERVER}:7100")])
        .args(["--mbit", "8", "--secs", "1.5"])
        .output()
        .unwrap();
    assert!(blast.status.success());
    line.clear();
    std::io::BufRead::read_line(&mut stdout, &mut line).unwrap();
    assert!(sink.wait().unwrap().success());
    let report: SinkReport = serde_json::from_str(&line).unwrap();
    assert!((report.mbit - 4.0).abs() < 0.4, "8 Mbit/s offered over a 4 Mbit/s uplink arrived at {report:?}");
}

#[test]
fn exec_runs_in_the_hosts_namespace_and_passes_the_exit_code_through() {
    if !root() {
        return;
    }
    let _alone = one_lab_at_a_time();
    let lab = TestLab::up("lan", "port-restricted:2");
    let out = lab.netlab(&["exec", "home1-c2", "--", "ip", "-4", "-o", "addr", "show"]);
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("192.168.1.12/24"), "{text}");
    assert!(!text.contains("192.168.1.11/"), "{text}");
    let out = lab.netlab(&["exec", "server", "--", "sh", "-c", "exit 7"]);
    assert_eq!(out.status.code(), Some(7));
}

#[test]
fn hosts_lists_every_host_with_its_namespace_and_address() {
    if !root() {
        return;
    }
    let _alone = one_lab_at_a_time();
    let lab = TestLab::up("lan", "full-cone,symmetric:2");
    let out = lab.netlab(&["hosts"]);
    let text = String::from_utf8_lossy(&out.stdout);
    let id = lab.run_id;
    for line in [
        format!("server     nl{id}-server      203.0.113.10"),
        format!("home1-c1   nl{id}-home1-c1    192.168.1.11    203.0.113.101   full-cone"),
        format!("home2-c2   nl{id}-home2-c2    192.168.2.12    203.0.113.102   symmetric"),
    ] {
        assert!(text.contains(&line), "{line:?} missing from\n{text}");
    }
}
