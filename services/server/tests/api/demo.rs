//! The quick start's demo movie: made on the first start of the embedded
//! default, shown as progress while it is being made, not made again; without
//! ffmpeg a notice says what to install and the web client is still served.

use std::time::{Duration, Instant};

use crate::helpers::TestApp;

async fn wait_for<T>(timeout: Duration, mut probe: impl AsyncFnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(value) = probe().await {
            return value;
        }
        assert!(Instant::now() < deadline, "timed out");
        actix_web::rt::time::sleep(Duration::from_millis(200)).await;
    }
}

#[actix_web::test]
async fn first_embedded_start_makes_the_demo_movie_once() {
    let data_dir = tempfile::tempdir().unwrap();
    let data_path = data_dir.path().to_path_buf();
    let app = TestApp::spawn_on("sqlite", |c| {
        c.demo.enabled = true;
        c.demo.duration_secs = 6;
        c.storage.data_dir = data_path.clone();
    })
    .await;
    let in_progress = wait_for(Duration::from_secs(10), async || {
        let (_, status) = app.get_json("/api/catalog/status").await;
        status["ingests"][0]["title"].as_str().map(str::to_owned)
    })
    .await;
    assert_eq!(in_progress, "Cinemesh Demo: Test Pattern", "progress is visible while it is made");
    let movie = wait_for(Duration::from_secs(90), async || {
        let (_, page) = app.get_json("/api/movies").await;
        (page["total"] == 1).then(|| page["movies"][0].clone())
    })
    .await;
    assert_eq!(movie["title"], "Cinemesh Demo: Test Pattern");
    assert!((movie["duration_ms"].as_i64().unwrap() - 6000).abs() < 100);
    assert!(app.get_json("/api/catalog/status").await.1["ingests"].as_array().unwrap().is_empty());
    drop(app);

    // A second start over the same data finds the movie and makes no other.
    let again = TestApp::spawn_on("sqlite", |c| {
        c.demo.enabled = true;
        c.demo.duration_secs = 6;
        c.storage.data_dir = data_path.clone();
    })
    .await;
    actix_web::rt::time::sleep(Duration::from_millis(500)).await;
    assert!(again.get_json("/api/catalog/status").await.1["ingests"].as_array().unwrap().is_empty());
    assert_eq!(again.get_json("/api/movies").await.1["total"], 1);
}

#[actix_web::test]
async fn without_ffmpeg_the_catalog_says_what_to_install_and_the_client_is_served() {
    let web = tempfile::tempdir().unwrap();
    std::fs::write(web.path().join("index.html"), "<!doctype html><title>Cinemesh</title>").unwrap();
    let web_dir = web.path().to_path_buf();
    let app = TestApp::spawn_on("sqlite", |c| {
        c.demo.enabled = true;
        c.ingest.ffmpeg = "/nonexistent/ffmpeg".into();
        c.server.web_dir = web_dir;
    })
    .await;
    let notice = wait_for(Duration::from_secs(10), async || {
        let (_, status) = app.get_json("/api/catalog/status").await;
        status["notice"].as_str().map(str::to_owned)
    })
    .await;
    assert!(notice.contains("apt-get install ffmpeg"), "{notice}");
    let mut page = app.client.get(app.url("/")).send().await.unwrap();
    assert_eq!(page.status().as_u16(), 200);
    assert!(String::from_utf8_lossy(&page.body().await.unwrap()).contains("<title>Cinemesh</title>"));
    app.assert_nothing_left().await;
}

#[actix_web::test]
async fn built_assets_go_gzipped_to_browsers_that_take_gzip() {
    let web = tempfile::tempdir().unwrap();
    std::fs::write(web.path().join("index.html"), "<!doctype html>").unwrap();
    std::fs::create_dir(web.path().join("assets")).unwrap();
    std::fs::write(web.path().join("assets/app-1.js"), "plain").unwrap();
    std::fs::write(web.path().join("assets/app-1.js.gz"), "gzipped").unwrap();
    std::fs::write(web.path().join("assets/small-1.js"), "only plain").unwrap();
    let web_dir = web.path().to_path_buf();
    let app = TestApp::spawn_on("sqlite", |c| c.server.web_dir = web_dir).await;
    let fetch = async |path: &str, accept: &str| {
        let mut response = app
            .client
            .get(app.url(path))
            .insert_header(("accept-encoding", accept))
            .no_decompress()
            .send()
            .await
            .unwrap();
        let header = |name: &str| response.headers().get(name).map(|v| v.to_str().unwrap().to_owned());
        let (encoding, vary, kind) = (header("content-encoding"), header("vary"), header("content-type"));
        let body = String::from_utf8(response.body().await.unwrap().to_vec()).unwrap();
        (encoding, vary, kind, body)
    };
    let (encoding, vary, kind, body) = fetch("/assets/app-1.js", "gzip, deflate, br").await;
    assert_eq!(
        (encoding.as_deref(), vary.as_deref(), body.as_str()),
        (Some("gzip"), Some("accept-encoding"), "gzipped")
    );
    assert_eq!(kind.as_deref(), Some("text/javascript; charset=utf-8"), "the type of what it encodes");
    let (encoding, vary, _, body) = fetch("/assets/app-1.js", "gzip;q=0, identity").await;
    assert_eq!((encoding, vary.as_deref(), body.as_str()), (None, Some("accept-encoding"), "plain"));
    let (encoding, vary, _, body) = fetch("/assets/small-1.js", "gzip").await;
    assert_eq!((encoding, vary, body.as_str()), (None, None, "only plain"), "no copy, nothing to vary on");
}

#[actix_web::test]
async fn postgres_deployments_get_no_demo_movie() {
    let app = TestApp::spawn_on("postgres", |c| {
        c.demo.enabled = true;
        c.demo.duration_secs = 6;
    })
    .await;
    actix_web::rt::time::sleep(Duration::from_secs(1)).await;
    let (_, status) = app.get_json("/api/catalog/status").await;
    assert!(status["ingests"].as_array().unwrap().is_empty(), "{status}");
    assert_eq!(app.get_json("/api/movies").await.1["total"], 0);
}

/// `cinemesh demo` against the suite's database (SQLite file or Postgres):
/// the one-shot step of the scaled deployment.
fn run_demo_command(app: &TestApp) -> std::process::Output {
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_cinemesh"));
    // The suite's own CINEMESH_TEST_* settings are not configuration keys.
    for (key, _) in std::env::vars().filter(|(key, _)| key.starts_with("CINEMESH_")) {
        command.env_remove(key);
    }
    command
        .arg("demo")
        .env("CINEMESH_STORAGE_DATA_DIR", &app.config.storage.data_dir)
        .env("CINEMESH_STORAGE_DATABASE_URL", &app.config.storage.database_url)
        .env("CINEMESH_DEMO_DURATION_SECS", "4")
        .env("CINEMESH_INGEST_X264_PRESET", "ultrafast")
        .env("RUST_LOG", "warn")
        .output()
        .expect("cinemesh demo runs")
}

#[actix_web::test]
async fn the_demo_command_makes_the_demo_movie_once_for_a_shared_catalog() {
    let app = TestApp::spawn().await;
    let first = run_demo_command(&app);
    assert!(first.status.success(), "{}", String::from_utf8_lossy(&first.stderr));
    assert_eq!(String::from_utf8_lossy(&first.stdout).trim(), "the catalog has 1 movie(s)");
    let again = run_demo_command(&app);
    assert!(again.status.success());
    let (_, page) = app.get_json("/api/movies").await;
    assert_eq!(page["total"], 1, "made once");
    assert_eq!(page["movies"][0]["title"], "Cinemesh Demo: Test Pattern");
}
