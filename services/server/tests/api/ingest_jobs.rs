//! Ingest as jobs. Properties proved:
//! - an upload answers at once with a job, whose progress streams as
//!   server-sent events until it is done and the movie is in the catalog;
//! - jobs run one at a time (the default); a queued one cancels at once, a
//!   running one stops its ffmpeg, and neither leaves anything behind;
//! - a job whose server was killed mid-encode restarts on the next server
//!   and completes;
//! - `cinemesh ingest` beside a running server hands it the file.

use std::time::Duration;

use serde_json::Value;

use crate::helpers::{ADMIN_TOKEN, Endpoint, ServerProcess, TestApp, admin_json, clip, files_under};

async fn upload(app: &impl Endpoint, title: &str, file: &std::path::Path) -> (u16, Value) {
    let mut res = app
        .http()
        .post(app.url(&format!("/api/admin/movies?title={title}&file_name=source.mp4")))
        .insert_header(("authorization", format!("Bearer {ADMIN_TOKEN}")))
        .send_body(std::fs::read(file).unwrap())
        .await
        .unwrap();
    let body = res.body().await.unwrap();
    (res.status().as_u16(), serde_json::from_slice(&body).unwrap_or_default())
}

async fn admin(app: &impl Endpoint, method: &str, path: &str) -> (u16, Value) {
    admin_json(app, method, path, None).await
}

/// Polls a job until `done(job)` holds; panics after `patience`.
async fn job_until(app: &impl Endpoint, id: &str, patience: Duration, done: impl Fn(&Value) -> bool) -> Value {
    let started = std::time::Instant::now();
    loop {
        let (_, job) = admin(app, "GET", &format!("/api/admin/jobs/{id}")).await;
        if done(&job) {
            return job;
        }
        assert!(started.elapsed() < patience, "job {id} is still {job}");
        actix_web::rt::time::sleep(Duration::from_millis(100)).await;
    }
}

fn finished(job: &Value) -> bool {
    ["done", "failed", "cancelled"].contains(&job["state"].as_str().unwrap_or_default())
}

#[actix_web::test]
async fn an_upload_answers_at_once_and_its_job_streams_progress_until_done() {
    let app = TestApp::spawn().await;
    let (status, job) = upload(&app, "Streamed", &clip(20, 1280, 720, true)).await;
    assert_eq!(status, 202, "{job}");
    assert!(["queued", "running"].contains(&job["state"].as_str().unwrap()), "{job}");
    let id = job["id"].as_str().unwrap().to_owned();

    let mut res = app
        .client
        .get(app.url("/api/admin/jobs/events"))
        .insert_header(("authorization", format!("Bearer {ADMIN_TOKEN}")))
        .send()
        .await
        .unwrap();
    assert_eq!(res.headers().get("content-type").unwrap(), "text/event-stream");
    let mut text = String::new();
    let mut seen: Vec<(String, i64)> = Vec::new();
    let until = std::time::Instant::now() + Duration::from_secs(120);
    while seen.last().is_none_or(|(state, _)| state != "done") {
        assert!(std::time::Instant::now() < until, "no done event: {seen:?}");
        use futures_util::StreamExt;
        let chunk = res.next().await.expect("the stream stays open").unwrap();
        text.push_str(&String::from_utf8_lossy(&chunk));
        while let Some(end) = text.find("\n\n") {
            let event: String = text.drain(..end + 2).collect();
            if let Some(data) = event.strip_prefix("event: jobs\ndata: ") {
                let list: Value = serde_json::from_str(data.trim()).unwrap();
                let job = list["jobs"].as_array().unwrap().iter().find(|j| j["id"] == id.as_str()).unwrap().clone();
                seen.push((job["state"].as_str().unwrap().to_owned(), job["percent"].as_i64().unwrap()));
            }
        }
    }
    let encoding: Vec<i64> =
        seen.iter().filter(|(s, p)| s == "running" && *p > 0 && *p < 100).map(|(_, p)| *p).collect();
    assert!(!encoding.is_empty(), "progress was streamed while encoding: {seen:?}");
    assert!(encoding.windows(2).all(|w| w[0] <= w[1]), "and only went up: {seen:?}");
    let job = job_until(&app, &id, Duration::from_secs(1), finished).await;
    assert_eq!(job["percent"], 100);
    let (_, movie) = app.get_json(&format!("/api/movies/{}", job["movie_id"].as_str().unwrap())).await;
    assert_eq!(movie["title"], "Streamed");
    assert!(files_under(&app.config.storage.upload_dir()).is_empty(), "the job removed its upload");
}

#[actix_web::test]
async fn jobs_run_one_at_a_time_and_cancelling_one_leaves_nothing() {
    let app = TestApp::spawn().await;
    let (_, first) = upload(&app, "First", &clip(30, 1280, 720, true)).await;
    let (_, second) = upload(&app, "Second", &clip(4, 426, 240, true)).await;
    let (first, second) = (first["id"].as_str().unwrap().to_owned(), second["id"].as_str().unwrap().to_owned());
    let running = job_until(&app, &first, Duration::from_secs(60), |j| j["percent"].as_i64() > Some(0)).await;
    assert_eq!(running["state"], "running");
    let (_, list) = admin(&app, "GET", "/api/admin/jobs").await;
    let states: Vec<&str> = list["jobs"].as_array().unwrap().iter().map(|j| j["state"].as_str().unwrap()).collect();
    assert_eq!(states, ["running", "queued"], "one at a time, in order");

    // The queued one cancels at once, its upload removed.
    let (status, cancelled) = admin(&app, "DELETE", &format!("/api/admin/jobs/{second}")).await;
    assert_eq!((status, cancelled["state"].as_str()), (200, Some("cancelled")));
    // The running one stops within a second or two: ffmpeg killed, staging removed.
    let (status, _) = admin(&app, "DELETE", &format!("/api/admin/jobs/{first}")).await;
    assert_eq!(status, 200);
    let stopped = job_until(&app, &first, Duration::from_secs(5), finished).await;
    assert_eq!(stopped["state"], "cancelled", "{stopped}");
    app.assert_nothing_left().await;

    // A finished job can be dismissed from the list.
    assert_eq!(admin(&app, "DELETE", &format!("/api/admin/jobs/{first}")).await.0, 204);
    assert_eq!(admin(&app, "GET", &format!("/api/admin/jobs/{first}")).await.0, 404);
}

#[actix_web::test]
async fn a_job_whose_server_was_killed_restarts_on_the_next_and_completes() {
    // This process serves no jobs: the server processes run them.
    let app = TestApp::spawn_with(|c| c.admin.ingest_workers = 0).await;
    // With no instance running jobs, waiting for one is refused at once.
    let clip_path = clip(4, 426, 240, true);
    let mut res = app
        .client
        .post(app.url("/api/admin/movies?title=Waiting&wait=true"))
        .insert_header(("authorization", format!("Bearer {ADMIN_TOKEN}")))
        .send_body(std::fs::read(&clip_path).unwrap())
        .await
        .unwrap();
    let body: Value = serde_json::from_slice(&res.body().await.unwrap()).unwrap();
    assert_eq!((res.status().as_u16(), body["error"].as_str()), (503, Some("no_ingest_workers")));

    let mut first = ServerProcess::start(&app).await;
    let (status, job) = upload(&first.address, "Survivor", &clip(30, 1280, 720, true)).await;
    assert_eq!(status, 202, "{job}");
    let id = job["id"].as_str().unwrap().to_owned();
    job_until(&app, &id, Duration::from_secs(60), |j| j["percent"].as_i64() > Some(5)).await;
    first.kill().await;

    let second = ServerProcess::start(&app).await;
    // Its lease runs out (15 s), the next server takes it again from the start.
    let done = job_until(&second.address, &id, Duration::from_secs(180), finished).await;
    assert_eq!(done["state"], "done", "{done}");
    let (_, movie) = app.get_json(&format!("/api/movies/{}", done["movie_id"].as_str().unwrap())).await;
    assert_eq!(movie["title"], "Survivor");
    assert_eq!(app.get_json("/api/movies").await.1["total"], 1, "one movie, not two");
    let staging = files_under(&app.media_dir().join(".staging"));
    assert!(staging.is_empty(), "the killed run's half-written files went when the job restarted: {staging:?}");
    // The killed server's ffmpeg, which outlives it, was stopped too (or had ended).
    let marker = format!(".staging/job-{id}-");
    let orphans: Vec<String> = std::fs::read_dir("/proc")
        .unwrap()
        .flatten()
        .filter_map(|e| std::fs::read(e.path().join("cmdline")).ok())
        .map(|c| String::from_utf8_lossy(&c).replace('\0', " "))
        .filter(|c| c.contains(&marker))
        .collect();
    assert!(orphans.is_empty(), "{orphans:?}");
    assert!(files_under(&app.config.storage.upload_dir()).is_empty());

    // `cinemesh ingest` beside the running server hands it the file.
    let out = app.cli().args(["ingest", "--title", "Handed over"]).arg(clip(4, 426, 240, true)).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(stderr.contains("the running server ingests it"), "{stderr}");
    assert_eq!(app.get_json("/api/movies?q=handed").await.1["total"], 1);
}

#[actix_web::test]
async fn a_worker_whose_lease_lapsed_cannot_record_over_the_one_that_took_the_job() {
    let app = TestApp::spawn_with(|c| c.admin.ingest_workers = 0).await;
    let db = cinemesh_common::Database::connect(&app.config.storage.database_url()).await.unwrap();
    let jobs = cinemesh_catalog::jobs::JobStore::new(db);
    let spec = cinemesh_catalog::jobs::JobSpec {
        title: "Leased".into(),
        description: String::new(),
        year: None,
        source: "/nonexistent".into(),
        subtitles: vec![],
        owns_source: false,
        file_name: "x.mp4".into(),
    };
    jobs.enqueue("leased", &spec).await.unwrap();
    let now = cinemesh_common::db::now_ms();
    assert!(jobs.claim("worker-a", now + 15_000, None).await.unwrap().is_some());
    assert!(jobs.claim("worker-b", now + 15_000, None).await.unwrap().is_none(), "one worker at a time");
    // Worker A goes quiet; its lease lapses and B takes the job.
    assert_eq!(jobs.recover_abandoned(now + 16_000).await.unwrap().0, 1);
    assert!(jobs.claim("worker-b", now + 40_000, None).await.unwrap().is_some());
    let cancelled = cinemesh_catalog::jobs::Outcome::Cancelled;
    assert!(!jobs.finish("leased", "worker-a", &cancelled).await.unwrap(), "A's end is not recorded");
    let progress = cinemesh_catalog::jobs::Progress { step: "encoding", percent: 5, eta_secs: None };
    assert_eq!(
        jobs.renew("leased", "worker-a", now + 60_000, progress).await.unwrap(),
        None,
        "A learns it lost the job"
    );
    assert_eq!(jobs.get("leased").await.unwrap().unwrap().state, cinemesh_catalog::jobs::JobState::Running);
    assert!(jobs.finish("leased", "worker-b", &cancelled).await.unwrap());
}
