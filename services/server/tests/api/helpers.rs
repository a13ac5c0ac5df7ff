//! A fresh world per test: the application on port 0 with its own data folder
//! and its own database: a SQLite file, or a new Postgres database when
//! `CINEMESH_TEST_DATABASE=postgres` (server from `CINEMESH_TEST_POSTGRES_URL`,
//! default `postgres://postgres@127.0.0.1:5432`). Logs stay quiet unless
//! `CINEMESH_TEST_LOG` is set.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use cinemesh_server::{Application, Config};
use serde_json::Value;
use tokio::io::AsyncBufReadExt;

pub const ADMIN_TOKEN: &str = "test-admin-token";

/// Where tests send requests and open sockets: an app, or a proxy in front of apps.
pub trait Endpoint {
    fn url(&self, path: &str) -> String;
    fn http(&self) -> &awc::Client;
}

impl Endpoint for TestApp {
    fn url(&self, path: &str) -> String {
        TestApp::url(self, path)
    }

    fn http(&self) -> &awc::Client {
        &self.client
    }
}

/// Any server by its base address (`http://host:port`): a proxy, another process.
pub struct Address {
    pub base: String,
    pub client: awc::Client,
}

impl Address {
    pub fn new(base: String) -> Self {
        Self { base, client: awc::Client::builder().timeout(std::time::Duration::from_secs(30)).finish() }
    }

    pub async fn get_json(&self, path: &str) -> (u16, Value) {
        let mut res = self.client.get(self.url(path)).send().await.expect("request sent");
        (res.status().as_u16(), res.json().await.unwrap_or(Value::Null))
    }

    pub async fn post_json(&self, path: &str, body: &Value) -> (u16, Value) {
        let mut res = self.client.post(self.url(path)).send_json(body).await.expect("request sent");
        (res.status().as_u16(), res.json().await.unwrap_or(Value::Null))
    }
}

impl Endpoint for Address {
    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    fn http(&self) -> &awc::Client {
        &self.client
    }
}

/// A `cinemesh serve` process on the storage of `app` (its database, media, Redis).
pub struct ServerProcess {
    child: tokio::process::Child,
    pub address: Address,
    /// Held open and never read, when asked for.
    _unread_logs: Option<tokio::process::ChildStderr>,
}

/// Where a server process's log lines go.
enum Logs<'a> {
    Discarded,
    /// At this level, into a pipe that nobody reads.
    Unread(&'a str),
    /// Appended to this file (a restarted process adds to it).
    #[allow(dead_code, reason = "the fault tests log to files")]
    File(&'a Path),
}

impl ServerProcess {
    pub async fn start(app: &TestApp) -> Self {
        Self::spawn(&app.config, Logs::Discarded).await
    }

    /// Like `start`, logging at `level` into a pipe that nobody reads.
    pub async fn start_with_unread_logs(app: &TestApp, level: &str) -> Self {
        Self::spawn(&app.config, Logs::Unread(level)).await
    }

    async fn spawn(config: &Config, logs: Logs<'_>) -> Self {
        let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_cinemesh"));
        // The suite's own CINEMESH_TEST_* settings are not configuration keys.
        for (key, _) in std::env::vars().filter(|(key, _)| key.starts_with("CINEMESH_")) {
            command.env_remove(key);
        }
        let storage = &config.storage;
        command
            .arg("serve")
            .env("CINEMESH_SERVER_BIND", "127.0.0.1:0")
            .env("CINEMESH_SERVER_WORKERS", "2")
            .env("CINEMESH_STORAGE_DATA_DIR", &storage.data_dir)
            .env("CINEMESH_STORAGE_MEDIA_DIR", &storage.media_dir)
            .env("CINEMESH_STORAGE_DATABASE_URL", &storage.database_url)
            .env("CINEMESH_STORAGE_REDIS_URL", &storage.redis_url)
            .env("CINEMESH_STORAGE_REDIS_PREFIX", &storage.redis_prefix)
            .env("CINEMESH_TRACKER_SECRET", &config.tracker.secret)
            .env("CINEMESH_ADMIN_TOKEN", &config.admin.token)
            .env("CINEMESH_INGEST_X264_PRESET", &config.ingest.x264_preset)
            .env("CINEMESH_DEMO_ENABLED", "false")
            .env("RUST_LOG", "warn")
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .kill_on_drop(true);
        match logs {
            Logs::Discarded => {}
            Logs::Unread(level) => {
                command.env("CINEMESH_LOG", level).stderr(std::process::Stdio::piped());
            }
            Logs::File(path) => {
                let file = std::fs::OpenOptions::new().create(true).append(true).open(path).expect("log file");
                command.stderr(file);
            }
        }
        let mut child = command.spawn().expect("cinemesh starts");
        let unread = child.stderr.take();
        let mut lines = tokio::io::BufReader::new(child.stdout.take().expect("stdout")).lines();
        let address = tokio::time::timeout(std::time::Duration::from_secs(30), async {
            while let Ok(Some(line)) = lines.next_line().await {
                if let Some(address) = line.strip_prefix("cinemesh listening on ") {
                    return address.to_owned();
                }
            }
            panic!("cinemesh exited before listening");
        })
        .await
        .expect("cinemesh listens within 30 s");
        Self { child, address: Address::new(address), _unread_logs: unread }
    }

    /// Sends SIGTERM; returns how long the process took to exit, and whether it exited cleanly.
    pub async fn terminate(&mut self) -> (std::time::Duration, bool) {
        let pid = self.child.id().expect("still running");
        let sent = std::time::Instant::now();
        let status = std::process::Command::new("kill").arg("-TERM").arg(pid.to_string()).status().expect("kill runs");
        assert!(status.success());
        let exit = tokio::time::timeout(std::time::Duration::from_secs(30), self.child.wait())
            .await
            .expect("exits")
            .expect("status");
        (sent.elapsed(), exit.success())
    }
}

/// What the fault tests (`tests/faults`) do with server processes.
#[allow(dead_code, reason = "used by the fault tests, which share these helpers")]
impl ServerProcess {
    /// A process on `config`'s storage, secret and admin token (no app in
    /// this process needed), appending its logs and anything it prints to
    /// `log` (check it with `assert_log_has_no_panic`).
    pub async fn start_logging_to(config: &Config, log: &Path) -> Self {
        Self::spawn(config, Logs::File(log)).await
    }

    /// Sends SIGKILL, as a crash or the OOM killer would, and reaps the process.
    pub async fn kill(&mut self) {
        self.child.start_kill().expect("SIGKILL sent");
        self.child.wait().await.expect("reaped");
    }

    /// How the process ended, if it did.
    pub fn exit_status(&mut self) -> Option<std::process::ExitStatus> {
        self.child.try_wait().expect("process status")
    }
}

/// Asserts that a log written by `ServerProcess::start_logging_to` shows no
/// panic (the panic hook prints "panicked at", whatever the log level).
#[allow(dead_code, reason = "used by the fault tests, which share these helpers")]
pub fn assert_log_has_no_panic(log: &Path) {
    let text = std::fs::read_to_string(log).unwrap_or_default();
    if let Some(at) = text.find("panicked") {
        let start = text[..at].rfind('\n').map_or(0, |i| i + 1);
        panic!("the server panicked: {}", &text[start..(at + 2000).min(text.len())]);
    }
}

pub struct TestApp {
    pub address: String,
    pub config: Config,
    pub client: awc::Client,
    pub app_store: cinemesh_catalog::CatalogStore,
    rooms: cinemesh_rooms::Rooms,
    server: actix_web::dev::ServerHandle,
    /// Owned by the first of restarted apps: removed when it is dropped.
    _data_dir: Option<tempfile::TempDir>,
    _postgres_db: Option<PostgresDatabase>,
}

/// Points the app at the test Redis (`CINEMESH_TEST_REDIS_URL`, default
/// 127.0.0.1:6379) under a fresh key prefix; apps spawned with a copy of its
/// `storage` share rooms, the lobby and swarms with it.
pub fn fresh_redis_namespace(config: &mut Config) {
    config.storage.redis_url =
        std::env::var("CINEMESH_TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into()).into();
    config.storage.redis_prefix = format!("cinemesh-test-{}:", cinemesh_common::id::random_id(10));
}

/// Which database the suite runs against.
pub fn database_mode() -> String {
    std::env::var("CINEMESH_TEST_DATABASE").unwrap_or_else(|_| "sqlite".into())
}

fn postgres_base() -> String {
    std::env::var("CINEMESH_TEST_POSTGRES_URL").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432".into())
}

impl TestApp {
    pub async fn spawn() -> Self {
        Self::spawn_with(|_| {}).await
    }

    /// Spawns with the test defaults (no demo, ultrafast encodes, admin token)
    /// after `adjust` had its say, on the database the suite runs against.
    pub async fn spawn_with(adjust: impl FnOnce(&mut Config)) -> Self {
        Self::spawn_on(&database_mode(), adjust).await
    }

    /// Like `spawn_with`, on `"sqlite"` or `"postgres"` whatever the suite runs against.
    pub async fn spawn_on(mode: &str, adjust: impl FnOnce(&mut Config)) -> Self {
        if std::env::var_os("CINEMESH_TEST_LOG").is_some() {
            // The first app of the run installs the logger, for the whole run.
            std::mem::forget(cinemesh_server::telemetry::init());
        }
        let data_dir = tempfile::tempdir().expect("temp dir");
        let mut config = test_config(data_dir.path());
        let postgres_db = if mode == "postgres" {
            let db = PostgresDatabase::create().await;
            config.storage.database_url = db.url.clone().into();
            Some(db)
        } else {
            None
        };
        adjust(&mut config);
        Self::start(config, Some(data_dir), postgres_db).await
    }

    async fn start(config: Config, data_dir: Option<tempfile::TempDir>, postgres_db: Option<PostgresDatabase>) -> Self {
        let app = Application::build(config.clone()).await.expect("application starts");
        let address = format!("http://{}", app.address());
        let app_store = app.store().clone();
        let rooms = app.stopper().rooms().clone();
        let server = app.handle();
        actix_web::rt::spawn(app.run_until_stopped());
        // Idle connections are dropped before the server's keep-alive (5 s)
        // closes them: a test that works for a while between two requests
        // (probing forty segments with ffprobe) otherwise reuses a closed one.
        let connector = awc::Connector::new().conn_keep_alive(std::time::Duration::from_secs(2));
        let client = awc::Client::builder().connector(connector).timeout(std::time::Duration::from_secs(120)).finish();
        Self { address, config, client, app_store, rooms, server, _data_dir: data_dir, _postgres_db: postgres_db }
    }

    /// Stops this server and starts another on the same data and database
    /// (the data stay until this app is dropped).
    pub async fn restart(&self) -> Self {
        self.server.stop(true).await;
        Self::start(self.config.clone(), None, None).await
    }

    /// Hands this instance's rooms over, as a graceful shutdown does.
    pub async fn stop_rooms(&self) {
        self.rooms.shutdown(std::time::Duration::from_secs(5)).await;
    }

    /// Waits until every room write this instance queued has reached the
    /// database, however long that takes.
    pub async fn flush_room_writes(&self) {
        self.rooms.flush_writes().await;
    }

    /// The value of one series in `/metrics` (0 when absent).
    pub async fn metric(&self, series: &str) -> f64 {
        let text = self.get_text("/metrics").await;
        text.lines()
            .find_map(|line| line.strip_prefix(series).and_then(|rest| rest.strip_prefix(' ')))
            .map_or(0.0, |value| value.trim().parse().expect("a number"))
    }

    /// Runs the expiry of rooms nobody used since `cutoff_ms`, as the hourly task does.
    pub async fn expire_rooms(&self, cutoff_ms: i64) -> usize {
        self.rooms.expire_unused(cutoff_ms).await.expect("expiry runs")
    }

    /// Rooms loaded in this instance's memory.
    pub fn running_rooms(&self) -> usize {
        self.rooms.running()
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.address)
    }

    pub fn media_dir(&self) -> PathBuf {
        self.config.storage.media_dir()
    }

    /// GET returning status and JSON body (Null when the body is not JSON).
    pub async fn get_json(&self, path: &str) -> (u16, Value) {
        let mut res = self.client.get(self.url(path)).send().await.expect("request sent");
        let body = res.body().limit(64 * 1024 * 1024).await.expect("body read");
        (res.status().as_u16(), serde_json::from_slice(&body).unwrap_or(Value::Null))
    }

    pub async fn post_json(&self, path: &str, body: &Value) -> (u16, Value) {
        let mut res = self.client.post(self.url(path)).send_json(body).await.expect("request sent");
        let body = res.body().limit(16 * 1024 * 1024).await.expect("body read");
        (res.status().as_u16(), serde_json::from_slice(&body).unwrap_or(Value::Null))
    }

    pub async fn get_text(&self, path: &str) -> String {
        let mut res = self.client.get(self.url(path)).send().await.expect("request sent");
        String::from_utf8_lossy(&res.body().limit(16 * 1024 * 1024).await.expect("body read")).into_owned()
    }

    /// The Prometheus value of bytes served for a movie, rendition (`-` for
    /// files outside a rendition) and kind of file, 0 when never served.
    pub async fn served_bytes(&self, movie: &str, rendition: &str, kind: &str) -> u64 {
        let text = self.get_text("/metrics").await;
        let needle = format!(
            "cinemesh_segment_bytes_served_total{{movie=\"{movie}\",rendition=\"{rendition}\",kind=\"{kind}\"}} "
        );
        text.lines().find_map(|l| l.strip_prefix(&needle)).and_then(|v| v.trim().parse().ok()).unwrap_or(0)
    }

    /// A direct database connection to the app's database.
    pub async fn database(&self) -> cinemesh_common::Database {
        cinemesh_common::Database::connect(&self.config.storage.database_url()).await.expect("database")
    }

    /// Asserts that no catalog rows and no media or upload files exist.
    pub async fn assert_nothing_left(&self) {
        self.assert_no_rows_in(&["movies", "renditions", "segments"]).await;
        self.assert_no_files_left();
    }

    pub async fn assert_no_rows_in(&self, tables: &[&str]) {
        let db = self.database().await;
        for table in tables {
            let sql = format!("SELECT COUNT(*) FROM {table}");
            let count: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(sql)).fetch_one(db.pool()).await.unwrap();
            assert_eq!(count, 0, "rows left in {table}");
        }
        db.close().await;
    }

    pub fn assert_no_files_left(&self) {
        let leftovers = files_under(&self.media_dir());
        assert!(leftovers.is_empty(), "files left in the media folder: {leftovers:?}");
        let uploads = files_under(&self.config.storage.upload_dir());
        assert!(uploads.is_empty(), "files left in the upload folder: {uploads:?}");
    }

    /// Writes a movie with 360p and 720p renditions of three segments each
    /// straight into the catalog (ingest has its own tests).
    pub async fn seed_movie(&self, id: &str, title: &str, description: &str, created_at_ms: i64) {
        self.seed_movie_with_segments(id, title, description, created_at_ms, 3).await;
    }

    pub async fn seed_movie_with_segments(
        &self,
        id: &str,
        title: &str,
        description: &str,
        created_at_ms: i64,
        segment_count: i64,
    ) {
        insert_test_movie(&self.app_store, id, title, description, created_at_ms, segment_count).await;
    }

    /// An ingester writing to this app's catalog and media folder.
    /// The `cinemesh` binary set to this app's storage (its folder and database), quiet, fast encodes.
    pub fn cli(&self) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_cinemesh"));
        cmd.env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("CINEMESH_STORAGE_DATA_DIR", &self.config.storage.data_dir)
            .env("CINEMESH_INGEST_X264_PRESET", "ultrafast")
            .env("CINEMESH_LOG", "warn");
        if !self.config.storage.database_url.is_empty() {
            cmd.env("DATABASE_URL", &self.config.storage.database_url);
        }
        cmd
    }

    pub fn ingester(&self) -> cinemesh_catalog::ingest::Ingester {
        cinemesh_catalog::ingest::Ingester {
            store: self.app_store.clone(),
            media_dir: self.media_dir(),
            tools: self.config.ingest.clone(),
        }
    }
}

/// The test defaults for an app or process on `data_dir`: no demo, no web
/// client, ultrafast encodes, the admin token, and the secret instances share.
pub fn test_config(data_dir: &Path) -> Config {
    let mut config = Config::default();
    config.server.bind = "127.0.0.1:0".into();
    config.server.workers = 2;
    config.server.web_dir = data_dir.join("no-web-client");
    config.storage.data_dir = data_dir.to_path_buf();
    config.demo.enabled = false;
    config.ingest.x264_preset = "ultrafast".into();
    config.admin.token = ADMIN_TOKEN.into();
    // Instances that share rooms must share the secret that signs passes and tokens, as deployments do.
    config.tracker.secret = "test-secret-shared-by-instances".into();
    config
}

/// Writes a movie with 360p and 720p renditions of `segment_count` segments
/// each straight into a catalog (ingest has its own tests).
pub async fn insert_test_movie(
    store: &cinemesh_catalog::CatalogStore,
    id: &str,
    title: &str,
    description: &str,
    created_at_ms: i64,
    segment_count: i64,
) {
    use cinemesh_catalog::model::{Movie, NewMovie, Rendition, Segment};
    let segments = (0..segment_count)
        .map(|i| Segment { sequence: i, duration_ms: 2000, size_bytes: 1000 + i, sha256: format!("{:064x}", i) })
        .collect::<Vec<_>>();
    let rendition = |name: &str, height: i64| Rendition {
        name: name.into(),
        width: height * 16 / 9,
        height,
        bandwidth_bps: height * 4000,
        codecs: "avc1.4d401f,mp4a.40.2".into(),
        segment_count,
        ..Rendition::default()
    };
    store
        .insert(&NewMovie {
            movie: Movie {
                id: id.into(),
                title: title.into(),
                description: description.into(),
                year: Some(2001),
                duration_ms: segment_count * 2000,
                created_at_ms,
                poster_version: 0,
            },
            renditions: vec![(rendition("360p", 360), segments.clone()), (rendition("720p", 720), segments)],
            skipped_tracks: vec![],
        })
        .await
        .expect("seed movie");
}

/// A fresh database on the test Postgres server, dropped with this value.
pub struct PostgresDatabase {
    name: String,
    pub url: String,
}

impl PostgresDatabase {
    pub async fn create() -> Self {
        let name = format!("cinemesh_test_{}", cinemesh_common::id::random_id(12));
        create_postgres_database(&name).await;
        Self { url: format!("{}/{name}", postgres_base()), name }
    }
}

impl Drop for PostgresDatabase {
    fn drop(&mut self) {
        let name = std::mem::take(&mut self.name);
        // Drop is synchronous; a short-lived runtime on its own thread does the async work.
        let _ = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
            rt.block_on(async move {
                if let Ok(admin) = admin_pool().await {
                    let sql = format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)");
                    let _ = sqlx::query(sqlx::AssertSqlSafe(sql)).execute(&admin).await;
                }
            });
        })
        .join();
    }
}

async fn admin_pool() -> Result<sqlx::AnyPool, sqlx::Error> {
    sqlx::any::install_default_drivers();
    sqlx::any::AnyPoolOptions::new().max_connections(1).connect(&format!("{}/postgres", postgres_base())).await
}

async fn create_postgres_database(name: &str) {
    let admin = admin_pool().await.expect("Postgres reachable for CINEMESH_TEST_DATABASE=postgres");
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}"))).execute(&admin).await.expect("create database");
    admin.close().await;
}

/// An admin API request with the bearer token (and `body` as JSON); the status and the JSON answer.
pub async fn admin_json(app: &impl Endpoint, method: &str, path: &str, body: Option<Value>) -> (u16, Value) {
    let req = app
        .http()
        .request(method.parse().unwrap(), app.url(path))
        .insert_header(("authorization", format!("Bearer {ADMIN_TOKEN}")));
    let mut res = match body {
        Some(body) => req.send_json(&body).await.unwrap(),
        None => req.send().await.unwrap(),
    };
    let bytes = res.body().limit(1 << 20).await.unwrap_or_default();
    (res.status().as_u16(), serde_json::from_slice(&bytes).unwrap_or_default())
}

/// Uploads `body` as a movie through the admin API; the status and the JSON answer.
pub async fn upload_movie(app: &impl Endpoint, title: &str, body: Vec<u8>) -> (u16, Value) {
    let mut res = app
        .http()
        .post(app.url(&format!("/api/admin/movies?title={title}&wait=true")))
        .insert_header(("authorization", format!("Bearer {ADMIN_TOKEN}")))
        .timeout(std::time::Duration::from_secs(120))
        .send_body(body)
        .await
        .unwrap();
    let body = res.body().await.unwrap();
    (res.status().as_u16(), serde_json::from_slice(&body).unwrap_or_default())
}

/// Every regular file below `dir` (empty folders do not count).
pub fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else {
                out.push(path);
            }
        }
    }
    out
}

/// A synthetic clip with audio, made once per test binary and shared:
/// `seconds` long at `width`x`height`, 25 fps.
pub fn clip(seconds: u32, width: u32, height: u32, audio: bool) -> PathBuf {
    static DIR: OnceLock<tempfile::TempDir> = OnceLock::new();
    let dir = DIR.get_or_init(|| tempfile::tempdir().expect("clip dir"));
    let path = dir.path().join(format!("clip-{seconds}s-{width}x{height}-{audio}.mp4"));
    // Tests in one binary run in parallel: create under a unique name, then rename.
    if !path.exists() {
        let tmp = dir.path().join(format!("tmp-{}.mp4", cinemesh_common::id::random_id(8)));
        let mut cmd = Command::new("ffmpeg");
        cmd.args(["-hide_banner", "-loglevel", "error", "-y", "-f", "lavfi", "-i"])
            .arg(format!("testsrc2=size={width}x{height}:rate=25"));
        if audio {
            cmd.args(["-f", "lavfi", "-i", "sine=frequency=440"]);
        }
        cmd.args(["-t", &seconds.to_string(), "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p"]);
        if audio {
            cmd.args(["-c:a", "aac", "-shortest"]);
        }
        let status = cmd.arg(&tmp).status().expect("ffmpeg runs (apt-get install ffmpeg)");
        assert!(status.success(), "ffmpeg made the test clip");
        std::fs::rename(&tmp, &path).expect("rename clip");
    }
    path
}

/// An `ffmpeg` in `dir` that runs `script` (a POSIX shell `case` over its
/// arguments, say) before it hands over to the real one.
pub fn wrapped_ffmpeg(dir: &Path, script: &str) -> PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let path = dir.join("ffmpeg");
    std::fs::write(&path, format!("#!/bin/sh\n{script}\nexec ffmpeg \"$@\"\n")).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    path
}

/// The clip of `scripts/make-tracks-clip.sh`: 10 s, 640x360, a 440 Hz tone
/// tagged `eng` and a 660 Hz one tagged `fre` (the default), and three subtitle
/// tracks: `en.srt` (eng), `fr.srt` (fra) and `styled.ass` (untagged, titled).
pub fn tracks_clip() -> PathBuf {
    static DIR: OnceLock<tempfile::TempDir> = OnceLock::new();
    let dir = DIR.get_or_init(|| tempfile::tempdir().expect("clip dir"));
    let path = dir.path().join("tracks.mkv");
    if !path.exists() {
        let tmp = dir.path().join(format!("tmp-{}.mkv", cinemesh_common::id::random_id(8)));
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scripts/make-tracks-clip.sh");
        let status = Command::new("bash").arg(script).arg(&tmp).status().expect("bash runs");
        assert!(status.success(), "ffmpeg made the tracks clip");
        std::fs::rename(&tmp, &path).expect("rename clip");
    }
    path
}

/// Sends a raw HTTP/1.1 request line, so paths reach the server exactly as
/// written (HTTP clients normalize `..` and `%2e%2e` before sending). Runs on
/// the blocking pool: the test's runtime thread also drives the server.
pub async fn raw_get(address: &str, raw_path: &str) -> (u16, String) {
    let (address, raw_path) = (address.to_owned(), raw_path.to_owned());
    actix_web::rt::task::spawn_blocking(move || raw_get_blocking(&address, &raw_path)).await.unwrap()
}

fn raw_get_blocking(address: &str, raw_path: &str) -> (u16, String) {
    use std::io::{Read, Write};
    let host = address.trim_start_matches("http://");
    let mut stream = std::net::TcpStream::connect(host).expect("connect");
    stream.set_read_timeout(Some(std::time::Duration::from_secs(10))).expect("timeout");
    let request = format!("GET {raw_path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).expect("write");
    let mut response = Vec::new();
    let _ = stream.read_to_end(&mut response);
    let text = String::from_utf8_lossy(&response).into_owned();
    let status = text.split_whitespace().nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
    (status, text)
}

/// Sends `head` (request line and headers, no body) as it is and reads the
/// response until its body is complete, the server closes, or `patience`
/// passes without a byte. Returns the status (0 when none came) and the body.
pub async fn raw_request(address: &str, head: &str, patience: std::time::Duration) -> (u16, String) {
    let (address, head) = (address.to_owned(), head.to_owned());
    actix_web::rt::task::spawn_blocking(move || raw_request_blocking(&address, &head, patience)).await.unwrap()
}

fn raw_request_blocking(address: &str, head: &str, patience: std::time::Duration) -> (u16, String) {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(address.trim_start_matches("http://")).expect("connect");
    stream.set_read_timeout(Some(patience)).expect("timeout");
    stream.write_all(head.as_bytes()).expect("write");
    let mut response = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        if let Some(end) = response.windows(4).position(|w| w == b"\r\n\r\n") {
            let headers = String::from_utf8_lossy(&response[..end]).to_ascii_lowercase();
            let length = headers.lines().find_map(|l| l.strip_prefix("content-length:")?.trim().parse::<usize>().ok());
            if length.is_some_and(|length| response.len() >= end + 4 + length) {
                break;
            }
        }
        match stream.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => response.extend_from_slice(&buf[..n]),
        }
    }
    let text = String::from_utf8_lossy(&response).into_owned();
    let status = text.split_whitespace().nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
    let body = text.split_once("\r\n\r\n").map(|(_, body)| body.to_owned()).unwrap_or_default();
    (status, body)
}
