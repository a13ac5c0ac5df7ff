//! A lab per test: `TestLab::up` starts `netlab up` (the real binary) with its own run id and
//! waits until it is ready; dropping it runs `netlab down`. Sockets are opened inside a host's
//! namespace by a thread that enters it, and keep working from the test's thread.

use std::net::{Ipv4Addr, SocketAddr, UdpSocket};
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use cinemesh_netlab::names::RunId;
use cinemesh_netlab::netns;
use cinemesh_netlab::state::{self, LabState};

pub const BIN: &str = env!("CARGO_BIN_EXE_netlab");
pub const SERVER: Ipv4Addr = Ipv4Addr::new(203, 0, 113, 10);

/// Whether the tests can run here; says why not once per test otherwise.
pub fn root() -> bool {
    let root = rustix::process::geteuid().is_root();
    if !root {
        eprintln!("skipped: netlab tests need root (network namespaces, iptables); run them as root");
    }
    root
}

/// Held by every lab test for its whole run: the test binary runs two tests
/// at once, and each lab's shapers run at real-time priority. A round-trip
/// probe beside another lab's set-up or traffic on two cores measured a p95
/// 4-8 ms past its bound, twice in a row.
pub fn one_lab_at_a_time() -> MutexGuard<'static, ()> {
    static LABS: Mutex<()> = Mutex::new(());
    // A test that failed while holding it leaves nothing half done to guard.
    LABS.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

pub struct TestLab {
    pub run_id: RunId,
    pub state: LabState,
    child: Option<Child>,
}

impl TestLab {
    /// A lab of `profile` with `homes`, not calibrated.
    pub fn up(profile: &str, homes: &str) -> Self {
        Self::up_with(profile, homes, &["--no-calibrate"])
    }

    pub fn up_with(profile: &str, homes: &str, extra: &[&str]) -> Self {
        let run_id = fresh_run_id();
        let child = Command::new(BIN)
            .args(["up", profile, "--homes", homes, "--run-id", run_id.as_str()])
            .args(extra)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("starting netlab up");
        let mut lab = Self { run_id, state: wait_ready(run_id, child.id()), child: Some(child) };
        lab.state = state::read(run_id).unwrap();
        lab
    }

    pub fn netns(&self, host: &str) -> String {
        self.state.host(host).unwrap().netns.clone()
    }

    pub fn public_address(&self, home: &str) -> Ipv4Addr {
        state::read(self.run_id).unwrap().host(home).unwrap().address
    }

    /// Runs `netlab ARGS --run-id ID`.
    pub fn netlab(&self, args: &[&str]) -> Output {
        let out = Command::new(BIN).args(args).env("NETLAB_RUN_ID", self.run_id.as_str()).output().unwrap();
        if !out.status.success() {
            eprintln!("netlab {args:?}: {}", String::from_utf8_lossy(&out.stderr));
        }
        out
    }

    /// A UDP socket bound in `host`'s namespace.
    pub fn udp(&self, host: &str, bind: SocketAddr) -> UdpSocket {
        let socket = netns::within(&self.netns(host), || Ok(UdpSocket::bind(bind)?)).unwrap();
        socket.set_read_timeout(Some(Duration::from_millis(1000))).unwrap();
        socket
    }

    /// The driver's stdout so far is not needed; its process is.
    pub fn kill_driver(&mut self) {
        let mut child = self.child.take().unwrap();
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
    }

    /// Everything of this run visible on the machine: namespaces, and state files.
    pub fn leftovers(&self) -> Vec<String> {
        leftovers(self.run_id)
    }

    /// The driver's stdout once it has exited.
    pub fn down(mut self) -> String {
        let out = self.netlab(&["down"]);
        assert!(out.status.success());
        let mut child = self.child.take().unwrap();
        let mut stdout = String::new();
        use std::io::Read;
        child.stdout.take().unwrap().read_to_string(&mut stdout).unwrap();
        assert!(child.wait().unwrap().success());
        stdout
    }
}

impl Drop for TestLab {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = Command::new(BIN).args(["down", "--run-id", self.run_id.as_str()]).output();
            let _ = child.wait();
        }
    }
}

pub fn leftovers(run_id: RunId) -> Vec<String> {
    let prefix = run_id.prefix();
    let mut found: Vec<String> = netns::list().unwrap().into_iter().filter(|n| n.starts_with(&prefix)).collect();
    let links = netns::ip(None, &["-o", "link"]).unwrap();
    found.extend(links.lines().filter(|l| l.contains(&prefix)).map(str::to_string));
    for ext in ["json", "sock", "log"] {
        let path = state::dir().join(format!("{run_id}.{ext}"));
        if Path::new(&path).exists() {
            found.push(path.display().to_string());
        }
    }
    found
}

pub fn fresh_run_id() -> RunId {
    loop {
        let id = RunId::random();
        if leftovers(id).is_empty() {
            return id;
        }
    }
}

fn wait_ready(run_id: RunId, pid: u32) -> LabState {
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        if let Ok(s) = state::read(run_id)
            && s.ready
            && s.pid as u32 == pid
        {
            return s;
        }
        assert!(Instant::now() < deadline, "lab {run_id} was not ready within 120 s");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Receives one datagram, if any arrives within the socket's timeout.
pub fn recv(socket: &UdpSocket) -> Option<(Vec<u8>, SocketAddr)> {
    let mut buf = [0u8; 1500];
    socket.recv_from(&mut buf).ok().map(|(n, from)| (buf[..n].to_vec(), from))
}
