//! The services a fault test owns and breaks: a Redis server, a Postgres
//! cluster, a small tmpfs, and a data folder for `cinemesh` processes. Each
//! is stopped, unmounted or removed when dropped, also when the test fails.

use std::future::Future;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use cinemesh_server::Config;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::helpers::{insert_test_movie, test_config};

/// Fault tests kill services and time recoveries: one runs at a time.
static ONE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

pub async fn one_at_a_time() -> tokio::sync::MutexGuard<'static, ()> {
    ONE_AT_A_TIME.lock().await
}

/// A loopback port nothing listens on right now.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

fn is_root() -> bool {
    use std::os::unix::fs::MetadataExt;
    // /proc/self belongs to the process's effective user.
    std::fs::metadata("/proc/self").is_ok_and(|m| m.uid() == 0)
}

/// Polls `probe` every 50 ms until it gives a value; panics naming `what`
/// when `within` passes first.
pub async fn eventually<T, F, Fut>(what: &str, within: Duration, mut probe: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let deadline = Instant::now() + within;
    loop {
        if let Some(value) = probe().await {
            return value;
        }
        assert!(Instant::now() < deadline, "{what}: not within {within:?}");
        actix_web::rt::time::sleep(Duration::from_millis(50)).await;
    }
}

/// A data folder and the configuration of the `cinemesh` processes on it.
pub struct Storage {
    dir: tempfile::TempDir,
    pub config: Config,
}

impl Storage {
    pub fn new(adjust: impl FnOnce(&mut Config)) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let mut config = test_config(dir.path());
        adjust(&mut config);
        Self { dir, config }
    }

    /// Where the processes on this storage log (each restart appends).
    pub fn log(&self, name: &str) -> PathBuf {
        self.dir.path().join(format!("{name}.log"))
    }

    /// Writes a movie of `segments` 2 s segments into the catalog.
    pub async fn seed_movie(&self, id: &str, segments: i64) {
        let db = self.database().await;
        insert_test_movie(&cinemesh_catalog::CatalogStore::new(db.clone()), id, id, "", 1, segments).await;
        db.close().await;
    }

    /// A connection of its own to the database (migrated).
    pub async fn database(&self) -> cinemesh_common::Database {
        cinemesh_common::Database::connect(&self.config.storage.database_url()).await.expect("database")
    }
}

/// A `redis-server` of the test's own on a free port, without persistence:
/// restarted, it is empty, as a Redis that lost its memory is.
pub struct OwnRedis {
    port: u16,
    process: Option<Child>,
    /// Its working folder, empty: nothing to load at a start.
    dir: tempfile::TempDir,
}

impl OwnRedis {
    pub async fn start() -> Self {
        let mut redis = Self { port: free_port(), process: None, dir: tempfile::tempdir().unwrap() };
        redis.start_again().await;
        redis
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// Starts it (again) on the same port; returns once it answers PING.
    pub async fn start_again(&mut self) {
        assert!(self.process.is_none(), "already running");
        let process = Command::new("redis-server")
            .args(["--port", &self.port.to_string(), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"])
            .arg("--dir")
            .arg(self.dir.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("redis-server runs (apt-get install redis-server)");
        self.process = Some(process);
        let port = self.port;
        eventually("our Redis answers PING", Duration::from_secs(10), || pong(port)).await;
    }

    /// SIGKILL: gone at once, with everything it held.
    pub fn kill(&mut self) {
        if let Some(mut process) = self.process.take() {
            let _ = process.kill();
            let _ = process.wait();
        }
    }
}

async fn pong(port: u16) -> Option<()> {
    let mut stream = tokio::net::TcpStream::connect(("127.0.0.1", port)).await.ok()?;
    stream.write_all(b"PING\r\n").await.ok()?;
    let mut reply = [0u8; 7];
    stream.read_exact(&mut reply).await.ok()?;
    (&reply == b"+PONG\r\n").then_some(())
}

impl Drop for OwnRedis {
    fn drop(&mut self) {
        self.kill();
    }
}

/// A throwaway Postgres cluster of the test's own: initdb into a temporary
/// folder, trust authentication, a free port, its socket in that folder.
pub struct OwnPostgres {
    dir: tempfile::TempDir,
    bin: PathBuf,
    port: u16,
    running: bool,
}

impl OwnPostgres {
    pub async fn start() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let cluster = Self { bin: postgres_bin_dir(), port: free_port(), running: false, dir };
        if is_root() {
            // initdb and postgres refuse to run as root: the cluster belongs to user postgres.
            let status = Command::new("chown").args(["-R", "postgres"]).arg(cluster.dir.path()).status().unwrap();
            assert!(status.success(), "chown the cluster's folder to postgres");
        }
        cluster.run(
            "initdb",
            &["-D", &cluster.data(), "-U", "postgres", "-A", "trust", "--no-sync", "--no-instructions", "-E", "UTF8"],
        );
        let mut cluster = cluster;
        cluster.start_again().await;
        cluster
    }

    fn data(&self) -> String {
        self.dir.path().join("data").display().to_string()
    }

    pub fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }

    /// Runs one of the cluster's programs (as user postgres when we are root) and waits.
    fn run(&self, program: &str, args: &[&str]) {
        let program = self.bin.join(program);
        let mut command = if is_root() {
            let mut command = Command::new("runuser");
            command.args(["-u", "postgres", "--"]).arg(&program);
            command
        } else {
            Command::new(&program)
        };
        let output = command.args(args).current_dir(self.dir.path()).output().expect("postgres programs run");
        assert!(
            output.status.success(),
            "{} {args:?}: {}{}",
            program.display(),
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
    }

    /// Starts the cluster and waits until it accepts connections.
    pub async fn start_again(&mut self) {
        let options = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1 -c fsync=off -c full_page_writes=off",
            self.port,
            self.dir.path().display()
        );
        let log = self.dir.path().join("postgres.log").display().to_string();
        self.run("pg_ctl", &["-D", &self.data(), "-o", &options, "-l", &log, "-w", "-t", "30", "start"]);
        self.running = true;
    }

    /// `pg_ctl stop -m immediate`: every backend ends at once, as in a crash;
    /// the next start recovers from the write-ahead log.
    pub fn stop_immediately(&mut self) {
        self.run("pg_ctl", &["-D", &self.data(), "-m", "immediate", "-w", "stop"]);
        self.running = false;
    }
}

impl Drop for OwnPostgres {
    fn drop(&mut self) {
        if self.running {
            let program = self.bin.join("pg_ctl");
            let data = self.data();
            let args = ["-D", data.as_str(), "-m", "immediate", "-w", "stop"];
            let _ = if is_root() {
                Command::new("runuser").args(["-u", "postgres", "--"]).arg(program).args(args).output()
            } else {
                Command::new(program).args(args).output()
            };
        }
    }
}

/// The newest installed PostgreSQL's programs (Debian keeps them out of PATH).
fn postgres_bin_dir() -> PathBuf {
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| Some((e.file_name().to_str()?.parse().ok()?, e.path().join("bin"))))
        .filter(|(_, bin): &(u32, PathBuf)| bin.join("initdb").is_file())
        .collect();
    versions.sort();
    if let Some((_, bin)) = versions.pop() {
        return bin;
    }
    // Elsewhere initdb and pg_ctl are on the PATH.
    let output = Command::new("pg_config").arg("--bindir").output().expect("PostgreSQL is installed (initdb)");
    PathBuf::from(String::from_utf8_lossy(&output.stdout).trim())
}

/// A tmpfs of a few MiB mounted on a temporary folder, unmounted when dropped.
pub struct Tmpfs {
    dir: tempfile::TempDir,
}

impl Tmpfs {
    /// Mounts one; `Err` says why it cannot be here (mounting needs root).
    pub fn mount(size_mib: u32) -> Result<Self, String> {
        if !is_root() {
            return Err("mounting a tmpfs needs root".into());
        }
        let dir = tempfile::tempdir().unwrap();
        let output = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size_mib}m,mode=0755"), "tmpfs"])
            .arg(dir.path())
            .output()
            .expect("mount runs");
        assert!(output.status.success(), "mount a tmpfs as root: {}", String::from_utf8_lossy(&output.stderr));
        Ok(Self { dir })
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let unmounted = Command::new("umount").arg(self.dir.path()).status().is_ok_and(|s| s.success());
        if !unmounted {
            // Something still holds a file there: detach it now, the kernel frees it after.
            let _ = Command::new("umount").arg("--lazy").arg(self.dir.path()).status();
        }
    }
}
