//! Calibration: measure every link and hold it against the profile.
//!
//! Paths measured: the server to the core (the server's link alone), and every client to the
//! server (its home's link plus the server's). Phases, each run by the hidden subcommands of this
//! binary inside the namespaces:
//! 1. RTT: 200 probes 25 ms apart from every path at once (wider than any profile's jitter band,
//!    so the in-order release does not bend the spread); median and p95.
//! 2. Loss: up to 1000 small probes a second for 4 s from the server and each home's first client
//!    at once (each home's link carries only its own probes, so the even loss counts are exact),
//!    paced so that all of them together stay within 30 % of the server link's rate; loss each
//!    way from the echo's count.
//! 3. Rates: UDP paced at 125 % of the expected rate, one link direction at a time, 2 s each.
//! 4. Shaper CPU: 50 Mbit/s from the server to home1's first client for 3 s, reading the
//!    driver's CPU time (/proc/self/stat: all shaper threads live in it). System time includes
//!    the kernel's forwarding of each released packet: a verdict re-injects the packet, and the
//!    rest of its way (routing, NAT, bridge, veth, the receiver's socket) runs in the shaper's
//!    system call instead of a softirq.

use std::io::{BufRead, BufReader};
use std::net::{Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::process::{Child, ChildStdout, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use serde::de::DeserializeOwned;

use crate::bulk::{BlastReport, HEADERS, SinkReport};
use crate::probe::{ProbeReport, percentile};
use crate::profile::LinkSpec;
use crate::report::{Calibration, CpuFigure, Metric, Row};
use crate::topology::{CORE_ADDRESS, LabPlan};
use fastrand::Rng;

const ECHO_PORT: u16 = 7007;
const BULK_PORT: u16 = 7100;
const RTT_PROBES: u32 = 200;
const RTT_INTERVAL: Duration = Duration::from_millis(25);
const LOSS_SECS: f64 = 4.0;
const LOSS_MAX_PPS: f64 = 1000.0;
/// Loss probes may use at most this share of the slowest rate on their path.
const LOSS_RATE_SHARE: f64 = 0.3;
const PROBE_SIZE: usize = 64;
const RATE_SECS: f64 = 2.0;
const OVERDRIVE: f64 = 1.25;
pub const CPU_MBIT: f64 = 50.0;
const CPU_SECS: f64 = 3.0;

/// One measured path.
struct Path {
    label: String,
    ns: String,
    echo: SocketAddr,
    expect: Expect,
    /// Loss and rates are measured on a link's first path only.
    full: bool,
    /// For rate runs: where a sink or blaster on the far side lives.
    far_ns: String,
    far_addr: Ipv4Addr,
    /// The host's own public address; `None` behind a NAT (it receives bulk only after saying
    /// hello).
    own_addr: Option<Ipv4Addr>,
}

/// What the profile predicts for a path.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Expect {
    pub rtt_ms: f64,
    pub rtt_p95_ms: f64,
    /// Each way, percent.
    pub loss_pct: f64,
    pub up_mbit: Option<f64>,
    pub down_mbit: Option<f64>,
}

impl Expect {
    /// A path from a host across `links` in order (its own link first): RTTs add up, jitter
    /// bands (one per link direction) add up, losses compound, the slowest rate wins.
    pub fn across(links: &[LinkSpec]) -> Self {
        let rtt_ms = links.iter().map(|l| l.rtt_ms).sum();
        let halfwidths: Vec<f64> = links.iter().flat_map(|l| [l.jitter_ms / 2.0; 2]).collect();
        let mut rng = Rng::with_seed(42);
        let mut samples: Vec<f64> =
            (0..100_000).map(|_| halfwidths.iter().map(|h| h * (2.0 * rng.f64() - 1.0)).sum::<f64>()).collect();
        samples.sort_by(f64::total_cmp);
        let spread = percentile(&samples, 0.95).unwrap_or(0.0);
        let kept: f64 = links.iter().map(|l| 1.0 - l.loss_pct / 100.0).product();
        // The host's own link: up is its up rate; beyond it, the far link's down rate, and back.
        let up = links.iter().enumerate().map(|(i, l)| if i == 0 { l.up_mbit } else { l.down_mbit });
        let down = links.iter().enumerate().map(|(i, l)| if i == 0 { l.down_mbit } else { l.up_mbit });
        Self {
            rtt_ms,
            rtt_p95_ms: rtt_ms + spread,
            loss_pct: 100.0 * (1.0 - kept),
            up_mbit: up.flatten().reduce(f64::min),
            down_mbit: down.flatten().reduce(f64::min),
        }
    }
}

fn slowest(expect: &Expect) -> Option<f64> {
    [expect.up_mbit, expect.down_mbit].into_iter().flatten().reduce(f64::min)
}

/// Loss probes a second for one path: at most `LOSS_RATE_SHARE` of its own slowest rate, and
/// of the server link's slowest rate split among the `sharers` probing across it at once, so
/// that no queue overflows and the count sees the shaper's losses alone.
fn loss_probe_rate(own_mbit: Option<f64>, server_link_mbit: Option<f64>, sharers: usize) -> f64 {
    let frame_bits = ((PROBE_SIZE + HEADERS) * 8) as f64;
    let budget = |mbit: f64| mbit * 1e6 * LOSS_RATE_SHARE / frame_bits;
    let own = own_mbit.map_or(LOSS_MAX_PPS, budget);
    let shared = server_link_mbit.map_or(LOSS_MAX_PPS, |m| budget(m) / sharers.max(1) as f64);
    own.min(shared).min(LOSS_MAX_PPS)
}

/// Measures `plan`'s links. `stop` aborts between steps.
pub fn run(plan: &LabPlan, stop: &AtomicBool) -> anyhow::Result<Calibration> {
    let started = Instant::now();
    let exe = std::env::current_exe().context("finding this program")?;
    let paths = paths(plan);
    let server = plan.server.address;
    let _echoes = [
        Tool::start(&exe, "_echo", &plan.server.netns, &["--bind", &format!("{server}:{ECHO_PORT}"), "--secs", "300"])?
            .ready()?,
        Tool::start(
            &exe,
            "_echo",
            &plan.core_netns,
            &["--bind", &format!("{CORE_ADDRESS}:{ECHO_PORT}"), "--secs", "300"],
        )?
        .ready()?,
    ];
    let mut cal = Calibration::default();

    let rtt = probe_all(&exe, paths.iter().collect(), |_| (RTT_PROBES, RTT_INTERVAL))?;
    check(stop)?;
    let full: Vec<&Path> = paths.iter().filter(|p| p.full).collect();
    // Every path ends at the server (or crosses its link to the core): all of
    // them share the server's link, whose rate the profile may cap far below
    // a home's.
    let server_link = paths.first().map(|p| slowest(&p.expect)).unwrap_or(None);
    let loss = probe_all(&exe, full.clone(), |p| {
        let pps = loss_probe_rate(slowest(&p.expect), server_link, full.len());
        ((pps * LOSS_SECS) as u32, Duration::from_secs_f64(1.0 / pps))
    })?;
    check(stop)?;

    for (path, report) in paths.iter().zip(&rtt) {
        cal.rows.push(Row {
            path: path.label.clone(),
            metric: Metric::RttMedian,
            expected: path.expect.rtt_ms,
            measured: report.rtt_median_ms,
        });
        cal.rows.push(Row {
            path: path.label.clone(),
            metric: Metric::RttP95,
            expected: path.expect.rtt_p95_ms,
            measured: report.rtt_p95_ms,
        });
        if let Some(i) = full.iter().position(|f| std::ptr::eq(*f, path)) {
            let l = &loss[i];
            for (metric, measured) in [(Metric::LossUp, l.up_loss_pct()), (Metric::LossDown, l.down_loss_pct())] {
                cal.rows.push(Row { path: path.label.clone(), metric, expected: path.expect.loss_pct, measured });
            }
        }
    }

    let mut port = BULK_PORT;
    for path in &full {
        for (metric, expected, upward) in
            [(Metric::RateUp, path.expect.up_mbit, true), (Metric::RateDown, path.expect.down_mbit, false)]
        {
            check(stop)?;
            port += 1;
            match expected {
                Some(expected) => {
                    let measured = rate(&exe, path, upward, expected * OVERDRIVE, RATE_SECS, port)?.0.mbit;
                    cal.rows.push(Row { path: path.label.clone(), metric, expected, measured: Some(measured) });
                }
                None => cal.unlimited.push(format!("{} {}", path.label, if upward { "up" } else { "down" })),
            }
        }
    }

    check(stop)?;
    if let Some(path) = full.iter().find(|p| p.own_addr.is_none()) {
        let home = plan.homes.first();
        // All CPU time of the run (set-up and the queue draining after it included) over the
        // seconds of sending: an upper bound of the shaper's share of one core.
        let before = cpu_ticks();
        let (sink, blast) = rate(&exe, path, false, CPU_MBIT, CPU_SECS, port + 1)?;
        let ((user_after, system_after), (user_before, system_before)) =
            cpu_ticks().zip(before).unwrap_or(((0, 0), (0, 0)));
        let pct = |ticks: u64| 100.0 * ticks as f64 / rustix::param::clock_ticks_per_second() as f64 / blast.secs;
        cal.cpu = Some(CpuFigure {
            path: format!("{} (down)", path.label),
            offered_mbit: CPU_MBIT,
            delivered_mbit: sink.mbit,
            user_pct: pct(user_after.saturating_sub(user_before)),
            system_pct: pct(system_after.saturating_sub(system_before)),
            secs: blast.secs,
            shaped: home.is_some_and(|h| h.link.impairs()) || plan.server.link.impairs(),
        });
    }
    // One block per path, in path order.
    cal.rows.sort_by_key(|row| paths.iter().position(|p| p.label == row.path));
    cal.secs = started.elapsed().as_secs_f64();
    Ok(cal)
}

fn check(stop: &AtomicBool) -> anyhow::Result<()> {
    if stop.load(Ordering::Relaxed) {
        bail!("calibration interrupted");
    }
    Ok(())
}

fn paths(plan: &LabPlan) -> Vec<Path> {
    let server = &plan.server;
    let echo_at_server = SocketAddr::from((server.address, ECHO_PORT));
    let mut paths = vec![Path {
        label: "server -> core".into(),
        ns: server.netns.clone(),
        echo: SocketAddr::from((CORE_ADDRESS, ECHO_PORT)),
        expect: Expect::across(&[server.link]),
        full: true,
        far_ns: plan.core_netns.clone(),
        far_addr: CORE_ADDRESS,
        own_addr: Some(server.address),
    }];
    for home in &plan.homes {
        for (k, client) in home.clients.iter().enumerate() {
            paths.push(Path {
                label: format!("{} -> server", client.host),
                ns: client.netns.clone(),
                echo: echo_at_server,
                expect: Expect::across(&[home.link, server.link]),
                full: k == 0,
                far_ns: server.netns.clone(),
                far_addr: server.address,
                own_addr: None,
            });
        }
    }
    paths
}

/// Runs probers on `paths` at once; `pace` gives each its count and interval.
fn probe_all(
    exe: &PathBuf,
    paths: Vec<&Path>,
    pace: impl Fn(&Path) -> (u32, Duration),
) -> anyhow::Result<Vec<ProbeReport>> {
    let tools = paths
        .iter()
        .map(|p| {
            let (count, interval) = pace(p);
            Tool::start(
                exe,
                "_probe",
                &p.ns,
                &[
                    "--target",
                    &p.echo.to_string(),
                    "--count",
                    &count.to_string(),
                    "--interval-us",
                    &interval.as_micros().to_string(),
                    "--size",
                    &PROBE_SIZE.to_string(),
                    "--skip",
                    "5",
                ],
            )
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    tools.into_iter().map(Tool::finish).collect()
}

/// Sends `mbit` for `secs` across `path`, up (from the path's host) or down (to it).
fn rate(
    exe: &PathBuf,
    path: &Path,
    upward: bool,
    mbit: f64,
    secs: f64,
    port: u16,
) -> anyhow::Result<(SinkReport, BlastReport)> {
    let far = SocketAddr::from((path.far_addr, port));
    let mbit_arg = format!("{mbit:.3}");
    let secs_arg = format!("{secs:.3}");
    let max = format!("{}", secs + 10.0);
    let (sink, blaster) = if upward {
        let sink =
            Tool::start(exe, "_sink", &path.far_ns, &["--bind", &far.to_string(), "--max-secs", &max])?.ready()?;
        let blast = ["--to", &far.to_string(), "--mbit", &mbit_arg, "--secs", &secs_arg];
        (sink, Tool::start(exe, "_blast", &path.ns, &blast)?)
    } else if let Some(own) = path.own_addr {
        let near = SocketAddr::from((own, port)).to_string();
        let sink = Tool::start(exe, "_sink", &path.ns, &["--bind", &near, "--max-secs", &max])?.ready()?;
        let blast = ["--to", &near, "--mbit", &mbit_arg, "--secs", &secs_arg];
        (sink, Tool::start(exe, "_blast", &path.far_ns, &blast)?)
    } else {
        let blast = ["--greeted", &far.to_string(), "--mbit", &mbit_arg, "--secs", &secs_arg];
        let blaster = Tool::start(exe, "_blast", &path.far_ns, &blast)?.ready()?;
        let sink_args = ["--bind", "0.0.0.0:0", "--hello", &far.to_string(), "--max-secs", &max];
        (Tool::start(exe, "_sink", &path.ns, &sink_args)?.ready()?, blaster)
    };
    let blast: BlastReport = blaster.finish()?;
    Ok((sink.finish()?, blast))
}

/// User and system CPU time of this process (all threads), clock ticks.
fn cpu_ticks() -> Option<(u64, u64)> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    Some((fields.get(11)?.parse().ok()?, fields.get(12)?.parse().ok()?))
}

/// A hidden subcommand running in a namespace; killed if dropped before it finishes.
struct Tool {
    name: String,
    child: Child,
    out: BufReader<ChildStdout>,
}

impl Tool {
    fn start(exe: &PathBuf, sub: &str, ns: &str, args: &[&str]) -> anyhow::Result<Self> {
        let mut child = Command::new(exe)
            .arg(sub)
            .args(["--netns", ns])
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .spawn()
            .with_context(|| format!("starting {sub} in {ns}"))?;
        let out = BufReader::new(child.stdout.take().context("no stdout")?);
        Ok(Self { name: format!("{sub} in {ns}"), child, out })
    }

    /// Waits for the tool's "ready" line (its socket is bound).
    fn ready(mut self) -> anyhow::Result<Self> {
        let mut line = String::new();
        self.out.read_line(&mut line).with_context(|| format!("reading from {}", self.name))?;
        if line.trim() != "ready" {
            bail!("{} did not start: {:?}", self.name, line.trim());
        }
        Ok(self)
    }

    /// Waits for the tool to exit and parses its last line of output.
    fn finish<T: DeserializeOwned>(mut self) -> anyhow::Result<T> {
        let mut last = String::new();
        let mut line = String::new();
        while self.out.read_line(&mut line).with_context(|| format!("reading from {}", self.name))? > 0 {
            if !line.trim().is_empty() {
                last = std::mem::take(&mut line);
            }
            line.clear();
        }
        let status = self.child.wait()?;
        if !status.success() {
            bail!("{} failed ({status})", self.name);
        }
        serde_json::from_str(last.trim()).with_context(|| format!("{} printed {:?}", self.name, last.trim()))
    }
}

impl Drop for Tool {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn link(rtt: f64, jitter: f64, loss: f64, up: Option<f64>, down: Option<f64>) -> LinkSpec {
        LinkSpec { rtt_ms: rtt, jitter_ms: jitter, loss_pct: loss, up_mbit: up, down_mbit: down }
    }

    #[test]
    fn a_home_path_adds_rtts_and_takes_the_slowest_rates() {
        let home = link(40.0, 5.0, 0.5, Some(5.0), Some(50.0));
        let server = link(0.0, 0.0, 0.0, Some(20.0), Some(100.0));
        let e = Expect::across(&[home, server]);
        assert_eq!(e.rtt_ms, 40.0);
        assert_eq!((e.up_mbit, e.down_mbit), (Some(5.0), Some(20.0)));
        assert!((e.loss_pct - 0.5).abs() < 1e-9);
    }

    #[test]
    fn the_p95_of_two_uniform_jitter_draws_is_the_triangle_quantile() {
        // RTT = 40 + U(-2.5, 2.5) + U(-2.5, 2.5): triangular on ±5, p95 = 40 + 5 * (1 - sqrt(0.1)).
        let e = Expect::across(&[link(40.0, 5.0, 0.0, None, None)]);
        assert!((e.rtt_p95_ms - (40.0 + 5.0 * (1.0 - 0.1f64.sqrt()))).abs() < 0.05, "{}", e.rtt_p95_ms);
        assert_eq!(Expect::across(&[link(0.0, 0.0, 0.0, None, None)]).rtt_p95_ms, 0.0);
    }

    #[test]
    fn loss_probes_share_a_capped_server_link() {
        // 4 Mbit/s at the server, 7 paths probing at once: together within 30 % of it.
        let pps = loss_probe_rate(Some(5.0), Some(4.0), 7);
        let frame_bits = ((PROBE_SIZE + HEADERS) * 8) as f64;
        assert!(7.0 * pps * frame_bits <= 0.3 * 4e6 + 1.0, "{pps} probes/s each");
        assert_eq!(loss_probe_rate(None, None, 7), LOSS_MAX_PPS);
        assert_eq!(loss_probe_rate(Some(100.0), Some(100.0), 4), LOSS_MAX_PPS);
    }

    #[test]
    fn losses_compound_across_links() {
        let e = Expect::across(&[link(0.0, 0.0, 2.0, None, None), link(0.0, 0.0, 1.0, None, None)]);
        assert!((e.loss_pct - 100.0 * (1.0 - 0.98 * 0.99)).abs() < 1e-9);
        assert_eq!((e.up_mbit, e.down_mbit), (None, None));
    }
}
