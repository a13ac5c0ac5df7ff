//! The `netlab` command line.

use std::net::SocketAddr;
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use clap::{Parser, Subcommand};

use crate::bulk::{self, BlastTarget};
use crate::cleanup;
use crate::control::{self, Request};
use crate::driver::{self, UpOptions};
use crate::names::{HostName, RunId};
use crate::netns;
use crate::probe;
use crate::profile::ProfileFile;
use crate::state;

#[derive(Parser, Debug)]
#[command(name = "netlab", about = "An emulated internet of home networks behind NATs, in network namespaces")]
pub struct Cli {
    #[command(subcommand)]
    command: Cmd,
}

#[derive(clap::Args, Debug)]
struct RunArg {
    /// The lab to act on (default: the only one running).
    #[arg(long, env = "NETLAB_RUN_ID")]
    run_id: Option<RunId>,
}

#[derive(clap::Args, Debug)]
struct ProfilesArg {
    /// Profiles file (default: the built-in copy of bench/netlab/profiles.toml).
    #[arg(long, env = "NETLAB_PROFILES")]
    profiles: Option<PathBuf>,
}

#[derive(Subcommand, Debug)]
enum Cmd {
    /// Build a lab, calibrate it, and hold it until `netlab down`, SIGINT or SIGTERM.
    Up {
        /// A profile name (`netlab profiles` lists them).
        profile: String,
        /// Homes and NAT kinds, comma-separated: full-cone, port-restricted, symmetric; `:N` gives
        /// a home N clients (e.g. `full-cone,port-restricted:2,symmetric`). Default: the profile's.
        #[arg(long)]
        homes: Option<String>,
        /// The server's uplink rate, Mbit/s (overrides the profile).
        #[arg(long)]
        server_uplink_mbit: Option<f64>,
        /// Four hex digits naming the run (default: random).
        #[arg(long)]
        run_id: Option<RunId>,
        /// Skip the calibration.
        #[arg(long)]
        no_calibrate: bool,
        /// Run in the background: return once the lab is ready.
        #[arg(long)]
        detach: bool,
        #[command(flatten)]
        profiles: ProfilesArg,
    },
    /// Tear a lab down.
    Down {
        #[command(flatten)]
        run: RunArg,
    },
    /// Wait until a lab is ready (its state file says `ready: true`).
    Wait {
        #[command(flatten)]
        run: RunArg,
        #[arg(long, default_value_t = 180)]
        timeout_secs: u64,
    },
    /// List the hosts: name, namespace, address.
    Hosts {
        #[command(flatten)]
        run: RunArg,
        /// Print the state file (JSON) instead.
        #[arg(long)]
        json: bool,
    },
    /// Run a command in a host's namespace (server, home1, home1-c1, core); its exit code is passed through.
    Exec {
        host: String,
        #[command(flatten)]
        run: RunArg,
        #[arg(last = true, required = true)]
        command: Vec<String>,
    },
    /// Change a link (server or homeN): unplug, plug, rate, delay.
    Link {
        link: String,
        #[command(subcommand)]
        change: LinkChange,
        #[command(flatten)]
        run: RunArg,
    },
    /// Give a home's router a new WAN address (breaks its NAT mappings).
    Renumber {
        home: String,
        #[command(flatten)]
        run: RunArg,
    },
    /// Measure every link again and compare with the profile.
    Calibrate {
        #[command(flatten)]
        run: RunArg,
    },
    /// List the profiles.
    Profiles {
        #[command(flatten)]
        profiles: ProfilesArg,
    },
    /// Print one profile as TOML.
    Profile {
        name: String,
        #[command(flatten)]
        profiles: ProfilesArg,
    },
    #[command(name = "_echo", hide = true)]
    Echo {
        #[arg(long)]
        netns: String,
        #[arg(long)]
        bind: SocketAddr,
        #[arg(long, default_value_t = 300)]
        secs: u64,
    },
    #[command(name = "_probe", hide = true)]
    Probe {
        #[arg(long)]
        netns: String,
        #[arg(long)]
        target: SocketAddr,
        #[arg(long, default_value_t = 100)]
        count: u32,
        #[arg(long, default_value_t = 10_000)]
        interval_us: u64,
        #[arg(long, default_value_t = 64)]
        size: usize,
        #[arg(long, default_value_t = 0)]
        skip: u32,
    },
    #[command(name = "_sink", hide = true)]
    Sink {
        #[arg(long)]
        netns: String,
        #[arg(long)]
        bind: SocketAddr,
        #[arg(long)]
        hello: Option<SocketAddr>,
        #[arg(long, default_value_t = 20.0)]
        max_secs: f64,
    },
    #[command(name = "_blast", hide = true)]
    Blast {
        #[arg(long)]
        netns: String,
        #[arg(long, conflicts_with = "greeted", required_unless_present = "greeted")]
        to: Option<SocketAddr>,
        #[arg(long)]
        greeted: Option<SocketAddr>,
        #[arg(long)]
        mbit: f64,
        #[arg(long)]
        secs: f64,
    },
}

#[derive(Subcommand, Debug)]
enum LinkChange {
    /// Unplug the link at the core.
    Down,
    /// Plug it back.
    Up,
    /// Set rates (Mbit/s); an absent one stays.
    Rate {
        #[arg(long)]
        up_mbit: Option<f64>,
        #[arg(long)]
        down_mbit: Option<f64>,
    },
    /// Set delay, jitter, loss; an absent one stays.
    Delay {
        #[arg(long)]
        rtt_ms: Option<f64>,
        #[arg(long)]
        jitter_ms: Option<f64>,
        #[arg(long)]
        loss_pct: Option<f64>,
    },
}

pub fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Cmd::Up { profile, homes, server_uplink_mbit, run_id, no_calibrate, detach, profiles } => {
            let opts = UpOptions {
                profile,
                homes,
                server_uplink_mbit,
                run_id,
                calibrate: !no_calibrate,
                profiles: profiles.profiles,
            };
            if detach { driver::detach(&opts) } else { driver::up(&opts) }
        }
        Cmd::Down { run } => down(run.run_id),
        Cmd::Wait { run, timeout_secs } => wait(run.run_id, Duration::from_secs(timeout_secs)),
        Cmd::Hosts { run, json } => {
            let lab_state = state::resolve(run.run_id)?;
            if json {
                println!("{}", serde_json::to_string_pretty(&lab_state)?);
            } else {
                print!("{}", driver::render_hosts(&lab_state));
            }
            Ok(())
        }
        Cmd::Exec { host, run, command } => exec(&host, run.run_id, &command),
        Cmd::Link { link, change, run } => {
            let request = match change {
                LinkChange::Down => Request::LinkState { link, up: false },
                LinkChange::Up => Request::LinkState { link, up: true },
                LinkChange::Rate { up_mbit, down_mbit } => Request::Rate { link, up_mbit, down_mbit },
                LinkChange::Delay { rtt_ms, jitter_ms, loss_pct } => {
                    Request::Delay { link, rtt_ms, jitter_ms, loss_pct }
                }
            };
            ask(run.run_id, &request)
        }
        Cmd::Renumber { home, run } => ask(run.run_id, &Request::Renumber { home }),
        Cmd::Calibrate { run } => ask(run.run_id, &Request::Calibrate),
        Cmd::Profiles { profiles } => {
            let file = ProfileFile::load(profiles.profiles.as_deref())?;
            for (name, profile) in &file.profiles {
                println!("{name:<12} {}", profile.description);
            }
            Ok(())
        }
        Cmd::Profile { name, profiles } => {
            print!("{}", ProfileFile::load(profiles.profiles.as_deref())?.render(&name)?);
            Ok(())
        }
        Cmd::Echo { netns: ns, bind, secs } => {
            enter_as_tool(&ns, true)?;
            probe::echo(bind, Duration::from_secs(secs))
        }
        Cmd::Probe { netns: ns, target, count, interval_us, size, skip } => {
            enter_as_tool(&ns, true)?;
            let report = probe::probe(target, count, Duration::from_micros(interval_us), size, skip)?;
            println!("{}", serde_json::to_string(&report)?);
            Ok(())
        }
        Cmd::Sink { netns: ns, bind, hello, max_secs } => {
            enter_as_tool(&ns, false)?;
            let report = bulk::sink(bind, hello, Duration::from_secs_f64(max_secs))?;
            println!("{}", serde_json::to_string(&report)?);
            Ok(())
        }
        Cmd::Blast { netns: ns, to, greeted, mbit, secs } => {
            enter_as_tool(&ns, false)?;
            let target = match (to, greeted) {
                (Some(to), _) => BlastTarget::To(to),
                (None, Some(bind)) => BlastTarget::Greeted(bind),
                (None, None) => bail!("give --to or --greeted"),
            };
            let report = bulk::blast(target, mbit, Duration::from_secs_f64(secs))?;
            println!("{}", serde_json::to_string(&report)?);
            Ok(())
        }
    }
}

/// A measuring tool moves into its namespace. Echo and probe run at real-time priority like the
/// shapers (builds sharing the machine should not show up as RTT); bulk tools at nice -10.
fn enter_as_tool(ns: &str, timing_critical: bool) -> anyhow::Result<()> {
    netns::enter(ns)?;
    if timing_critical {
        crate::sched::timing_critical();
    } else {
        let _ = rustix::process::setpriority_process(None, -10);
    }
    Ok(())
}

/// Sends a request to the lab's driver and prints its answer; a refused request is an error.
fn ask(run_id: Option<RunId>, request: &Request) -> anyhow::Result<()> {
    let lab_state = state::resolve(run_id)?;
    if !lab_state.driver_alive() {
        bail!("the driver of lab {} is not running (clean up with `netlab down --run-id {0}`)", lab_state.run_id);
    }
    let response = control::send(&lab_state.control_socket, request)?;
    if response.ok {
        print!("{}", with_newline(response.message));
        if response.all_within == Some(false) {
            bail!("calibration: some figures are not within 10 % of the profile");
        }
        Ok(())
    } else {
        bail!("{}", response.message.trim_end())
    }
}

fn with_newline(mut s: String) -> String {
    if !s.ends_with('\n') {
        s.push('\n');
    }
    s
}

fn down(run_id: Option<RunId>) -> anyhow::Result<()> {
    let lab_state = state::resolve(run_id)?;
    let id = lab_state.run_id;
    if lab_state.driver_alive() {
        if control::send(&lab_state.control_socket, &Request::Down).is_err()
            && let Some(pid) = rustix::process::Pid::from_raw(lab_state.pid)
        {
            let _ = rustix::process::kill_process(pid, rustix::process::Signal::TERM);
        }
        let deadline = Instant::now() + Duration::from_secs(60);
        while lab_state.driver_alive() {
            if Instant::now() > deadline {
                bail!("the driver of lab {id} (pid {}) did not stop within 60 s", lab_state.pid);
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
    cleanup::remove_run(id);
    println!("lab {id} is down");
    Ok(())
}

fn wait(run_id: Option<RunId>, timeout: Duration) -> anyhow::Result<()> {
    let deadline = Instant::now() + timeout;
    loop {
        let found = match run_id {
            Some(id) => state::read(id).ok(),
            None => {
                let live = state::live();
                if live.len() > 1 {
                    // Which one is meant cannot change by waiting.
                    state::resolve(None)?;
                }
                live.into_iter().next()
            }
        };
        if let Some(lab_state) = found {
            if lab_state.ready {
                println!("lab {} is ready", lab_state.run_id);
                return Ok(());
            }
            if !lab_state.driver_alive() {
                bail!("the driver of lab {} exited before the lab was ready", lab_state.run_id);
            }
        }
        if Instant::now() > deadline {
            bail!("no lab became ready within {} s", timeout.as_secs());
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Replaces this process with `command` run in the host's namespace (`ip netns exec`, which also
/// shows the namespace's own /sys).
fn exec(host: &str, run_id: Option<RunId>, command: &[String]) -> anyhow::Result<()> {
    let lab_state = state::resolve(run_id)?;
    let name: HostName = host.parse()?;
    let ns = match name {
        HostName::Core => lab_state.run_id.netns(HostName::Core),
        _ => lab_state.host(host)?.netns.clone(),
    };
    let err = std::process::Command::new("ip").args(["netns", "exec", &ns]).args(command).exec();
    Err(err).with_context(|| format!("running ip netns exec {ns}"))
}
