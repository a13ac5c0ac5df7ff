//! `netlab up`: the driver. It sweeps dead labs, builds the lab, calibrates, marks the state file
//! ready, then holds the shapers and serves the control socket until `netlab down`, SIGINT,
//! SIGTERM or SIGHUP, and tears everything down. `--detach` runs the same in the background.

use std::os::unix::net::{UnixListener, UnixStream};
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use rustix::event::{PollFd, PollFlags, Timespec};

use crate::calibrate;
use crate::cleanup;
use crate::control::{self, Request, Response};
use crate::lab::{Lab, LinkId};
use crate::names::{HostName, RunId};
use crate::netns;
use crate::preflight;
use crate::profile::ProfileFile;
use crate::state::{self, LabState};
use crate::topology::{LabPlan, parse_homes};

/// What `netlab up` was asked for.
#[derive(Clone, Debug)]
pub struct UpOptions {
    pub profile: String,
    pub homes: Option<String>,
    pub server_uplink_mbit: Option<f64>,
    pub run_id: Option<RunId>,
    pub calibrate: bool,
    pub profiles: Option<PathBuf>,
}

/// How often the driver looks at its stop flag and its shapers' health.
const TICK: Duration = Duration::from_millis(200);

/// Removes the run's namespaces and files when the driver leaves, however it leaves.
struct RunGuard(RunId);

impl Drop for RunGuard {
    fn drop(&mut self) {
        cleanup::remove_run(self.0);
    }
}

type Shared = Arc<Mutex<Lab>>;

pub fn up(opts: &UpOptions) -> anyhow::Result<()> {
    preflight::check_user_space()?;
    let file = ProfileFile::load(opts.profiles.as_deref())?;
    let profile = file.get(&opts.profile)?;
    let homes = parse_homes(opts.homes.as_deref().unwrap_or(&profile.homes))?;
    let swept = cleanup::sweep();
    if !swept.is_empty() {
        let ids: Vec<String> = swept.iter().map(RunId::to_string).collect();
        println!("removed what dead labs left: {}", ids.join(", "));
    }
    let run_id = opts.run_id.unwrap_or_else(free_run_id);
    let plan = LabPlan::new(run_id, &opts.profile, profile, &homes, opts.server_uplink_mbit)?;
    let mut lab_state = LabState::new(Some(&plan), run_id, &opts.profile)?;
    state::create(&lab_state)?;
    let _guard = RunGuard(run_id);
    let stop = Arc::new(AtomicBool::new(false));
    for signal in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM, signal_hook::consts::SIGHUP] {
        signal_hook::flag::register(signal, stop.clone()).context("installing signal handlers")?;
    }
    preflight::check_kernel(&run_id.netns(HostName::Core))?;
    let started = Instant::now();
    let lab = Lab::build(plan)?;
    println!("lab {run_id} ({}) built in {:.1} s", opts.profile, started.elapsed().as_secs_f64());
    let _ = std::fs::remove_file(&lab_state.control_socket);
    let listener = UnixListener::bind(&lab_state.control_socket)
        .with_context(|| format!("binding {}", lab_state.control_socket.display()))?;
    listener.set_nonblocking(true)?;
    print!("{}", render_hosts(&lab_state));
    let lab: Shared = Arc::new(Mutex::new(lab));
    let calibrating = Arc::new(Mutex::new(()));
    if opts.calibrate {
        println!("calibrating (netlab up --no-calibrate skips this)...");
        let plan = lock(&lab)?.plan.clone();
        match calibrate::run(&plan, &stop) {
            Ok(cal) => print!("{}", cal.render()),
            Err(e) if stop.load(Ordering::Relaxed) => println!("{e:#}"),
            Err(e) => eprintln!("warning: calibration failed: {e:#}"),
        }
    }
    if !stop.load(Ordering::Relaxed) {
        lab_state.ready = true;
        state::write(&lab_state)?;
        println!(
            "ready: run id {run_id}, driver pid {}. Stop with `netlab down --run-id {run_id}` or Ctrl-C.",
            lab_state.pid
        );
    }
    let result = serve(&listener, &lab, &stop, &calibrating);
    println!("tearing down lab {run_id}");
    if let Ok(lab) = Arc::try_unwrap(lab)
        && let Ok(lab) = lab.into_inner()
    {
        lab.teardown();
    }
    result
}

fn lock(lab: &Shared) -> anyhow::Result<std::sync::MutexGuard<'_, Lab>> {
    lab.lock().map_err(|_| anyhow::anyhow!("the lab's state was poisoned by a panic"))
}

fn serve(
    listener: &UnixListener,
    lab: &Shared,
    stop: &Arc<AtomicBool>,
    calibrating: &Arc<Mutex<()>>,
) -> anyhow::Result<()> {
    let timeout = Timespec::try_from(TICK).unwrap_or(Timespec { tv_sec: 0, tv_nsec: 200_000_000 });
    while !stop.load(Ordering::Relaxed) {
        if let Some(failure) = lock(lab)?.shaper_failure() {
            bail!("a shaper stopped, so the lab no longer shapes: {failure}");
        }
        let mut fds = [PollFd::new(listener, PollFlags::IN)];
        let _ = rustix::event::poll(&mut fds, Some(&timeout));
        match listener.accept() {
            Ok((stream, _)) => {
                let (lab, stop, calibrating) = (lab.clone(), stop.clone(), calibrating.clone());
                std::thread::spawn(move || handle(stream, &lab, &stop, &calibrating));
            }
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
            Err(e) => return Err(e).context("accepting on the control socket"),
        }
    }
    Ok(())
}

fn handle(stream: UnixStream, lab: &Shared, stop: &AtomicBool, calibrating: &Mutex<()>) {
    let _ = stream.set_nonblocking(false);
    let response = match control::read_request(&stream) {
        Ok(request) => match dispatch(request, lab, stop, calibrating) {
            Ok(response) => response,
            Err(e) => Response::error(&e),
        },
        Err(e) => Response::error(&e),
    };
    let _ = control::write_response(&stream, &response);
}

fn dispatch(request: Request, lab: &Shared, stop: &AtomicBool, calibrating: &Mutex<()>) -> anyhow::Result<Response> {
    match request {
        Request::LinkState { link, up } => {
            let id: LinkId = link.parse()?;
            lock(lab)?.set_link_up(id, up)?;
            Ok(Response::ok(format!("{id} is {}", if up { "up" } else { "down" })))
        }
        Request::Rate { link, up_mbit, down_mbit } => {
            let id: LinkId = link.parse()?;
            let mut lab = lock(lab)?;
            lab.set_rate(id, up_mbit, down_mbit)?;
            Ok(Response::ok(describe(&lab, id)))
        }
        Request::Delay { link, rtt_ms, jitter_ms, loss_pct } => {
            let id: LinkId = link.parse()?;
            let mut lab = lock(lab)?;
            lab.set_impairment(id, rtt_ms, jitter_ms, loss_pct)?;
            Ok(Response::ok(describe(&lab, id)))
        }
        Request::Renumber { home } => {
            let LinkId::Home(index) = home.parse()? else { bail!("only a home can be renumbered") };
            let mut lab = lock(lab)?;
            let address = lab.renumber(index)?;
            let mut lab_state = state::read(lab.plan.run_id)?;
            lab_state.hosts = state::hosts_of(&lab.plan);
            state::write(&lab_state)?;
            Ok(Response::ok(format!("home{index}'s WAN address is now {address}")))
        }
        Request::Calibrate => {
            let _one_at_a_time = calibrating.lock().map_err(|_| anyhow::anyhow!("poisoned"))?;
            let plan = lock(lab)?.plan.clone();
            let cal = calibrate::run(&plan, stop)?;
            Ok(Response { ok: true, message: cal.render(), all_within: Some(cal.all_ok()) })
        }
        Request::Down => {
            stop.store(true, Ordering::Relaxed);
            Ok(Response::ok("stopping"))
        }
    }
}

fn describe(lab: &Lab, id: LinkId) -> String {
    let link = match id {
        LinkId::Server => Some(lab.plan.server.link),
        LinkId::Home(h) => lab.plan.home(h).map(|h| h.link),
    };
    let Some(l) = link else { return id.to_string() };
    let rate = |r: Option<f64>| r.map_or("unlimited".to_string(), |r| format!("{r} Mbit/s"));
    format!(
        "{id}: rtt {} ms ± {} ms, loss {} %, up {}, down {}{}",
        l.rtt_ms,
        l.jitter_ms,
        l.loss_pct,
        rate(l.up_mbit),
        rate(l.down_mbit),
        if lab.is_down(id) { " (unplugged)" } else { "" }
    )
}

/// A random run id that no state file or namespace uses.
fn free_run_id() -> RunId {
    let taken = netns::list().unwrap_or_default();
    loop {
        let id = RunId::random();
        if !state::path(id).exists() && !taken.iter().any(|ns| ns.starts_with(&id.prefix())) {
            return id;
        }
    }
}

/// `netlab up --detach`: starts the driver in the background (its output goes to
/// /run/netlab/<run id>.log), waits until the lab is ready, prints what the driver printed.
pub fn detach(opts: &UpOptions) -> anyhow::Result<()> {
    preflight::check_user_space()?;
    let run_id = opts.run_id.unwrap_or_else(free_run_id);
    std::fs::create_dir_all(state::dir()).context("creating the state directory")?;
    let log_path = state::log_path(run_id);
    let log = std::fs::File::create(&log_path).with_context(|| format!("creating {}", log_path.display()))?;
    let mut args = vec!["up".to_string(), opts.profile.clone(), "--run-id".into(), run_id.to_string()];
    if let Some(homes) = &opts.homes {
        args.extend(["--homes".into(), homes.clone()]);
    }
    if let Some(rate) = opts.server_uplink_mbit {
        args.extend(["--server-uplink-mbit".into(), rate.to_string()]);
    }
    if !opts.calibrate {
        args.push("--no-calibrate".into());
    }
    if let Some(profiles) = &opts.profiles {
        args.extend(["--profiles".into(), profiles.display().to_string()]);
    }
    let mut child = Command::new(std::env::current_exe()?)
        .args(&args)
        .stdin(Stdio::null())
        .stdout(log.try_clone()?)
        .stderr(log)
        // Its own process group: a Ctrl-C meant for the shell that started it does not reach it.
        .process_group(0)
        .spawn()
        .context("starting the driver")?;
    loop {
        if let Some(status) = child.try_wait()? {
            print!("{}", std::fs::read_to_string(&log_path).unwrap_or_default());
            bail!("the lab driver exited ({status}) before the lab was ready");
        }
        if let Ok(lab_state) = state::read(run_id)
            && lab_state.ready
            && u32::try_from(lab_state.pid).ok() == Some(child.id())
        {
            print!("{}", std::fs::read_to_string(&log_path).unwrap_or_default());
            println!("running in the background; log: {}", log_path.display());
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// The host table `netlab hosts` and `netlab up` print.
pub fn render_hosts(lab_state: &LabState) -> String {
    use std::fmt::Write;
    let mut out = format!("{:<10} {:<18} {:<15} {:<15} {}\n", "host", "namespace", "address", "public", "nat");
    for h in &lab_state.hosts {
        let public = h.public_address.map(|a| a.to_string()).unwrap_or_default();
        let nat = h.nat.map(|n| n.to_string()).unwrap_or_default();
        let lan = h.lan_address.map(|a| format!(" (LAN {a})")).unwrap_or_default();
        let _ = writeln!(out, "{:<10} {:<18} {:<15} {:<15} {nat}{lan}", h.name, h.netns, h.address.to_string(), public);
    }
    out
}
