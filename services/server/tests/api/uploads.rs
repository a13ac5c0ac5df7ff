//! Resumable uploads (tus 1.0). Properties proved:
//! - an upload cut off mid-request keeps what arrived, says where to resume,
//!   refuses a wrong offset, and once complete becomes an ingest job that
//!   makes the movie, leaving no upload file behind;
//! - a creation is refused before any byte for its size, file type, details
//!   or protocol version, and leaves nothing;
//! - a file of a movie's name that is not a movie is refused by the probe,
//!   and leaves nothing;
//! - one address starting 100 uploads at once is limited; a started upload
//!   can be cancelled, and an unfinished one expires.

use std::io::Write;
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde_json::Value;

use crate::helpers::{ADMIN_TOKEN, TestApp, clip, files_under};

const TUS: (&str, &str) = ("tus-resumable", "1.0.0");

fn metadata(file_name: &str, title: Option<&str>) -> String {
    let mut header = format!("filename {}", STANDARD.encode(file_name));
    if let Some(title) = title {
        header.push_str(&format!(",title {}", STANDARD.encode(title)));
    }
    header
}

struct Answer {
    status: u16,
    headers: awc::http::header::HeaderMap,
    body: Value,
}

impl Answer {
    fn header(&self, name: &str) -> &str {
        self.headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or_default()
    }
}

async fn tus(app: &TestApp, method: &str, path: &str, headers: &[(&str, &str)], body: Vec<u8>) -> Answer {
    let mut req = app
        .client
        .request(method.parse().unwrap(), app.url(path))
        .insert_header(("authorization", format!("Bearer {ADMIN_TOKEN}")));
    for header in headers {
        req = req.insert_header(*header);
    }
    let mut res = req.send_body(body).await.unwrap();
    let bytes = res.body().await.unwrap_or_default();
    Answer {
        status: res.status().as_u16(),
        headers: res.headers().clone(),
        body: serde_json::from_slice(&bytes).unwrap_or_default(),
    }
}

async fn create(app: &TestApp, length: usize, file_name: &str, title: Option<&str>) -> Answer {
    let (length, metadata) = (length.to_string(), metadata(file_name, title));
    tus(app, "POST", "/api/admin/uploads", &[TUS, ("upload-length", &length), ("upload-metadata", &metadata)], vec![])
        .await
}

async fn patch(app: &TestApp, location: &str, offset: usize, bytes: &[u8]) -> Answer {
    let offset = offset.to_string();
    let headers = [TUS, ("upload-offset", offset.as_str()), ("content-type", "application/offset+octet-stream")];
    tus(app, "PATCH", location, &headers, bytes.to_vec()).await
}

async fn offset_of(app: &TestApp, location: &str) -> (u16, usize) {
    let head = tus(app, "HEAD", location, &[TUS], vec![]).await;
    (head.status, head.header("upload-offset").parse().unwrap_or(0))
}

/// Sends a PATCH that promises `promised` bytes, sends `sent` of them and hangs up.
fn cut_patch(app: &TestApp, location: &str, offset: usize, promised: usize, sent: &[u8]) {
    let address = app.address.trim_start_matches("http://");
    let mut stream = std::net::TcpStream::connect(address).unwrap();
    let head = format!(
        "PATCH {location} HTTP/1.1\r\nHost: {address}\r\nAuthorization: Bearer {ADMIN_TOKEN}\r\nTus-Resumable: 1.0.0\r\n\
         Upload-Offset: {offset}\r\nContent-Type: application/offset+octet-stream\r\nContent-Length: {promised}\r\n\r\n"
    );
    stream.write_all(head.as_bytes()).unwrap();
    stream.write_all(sent).unwrap();
    stream.flush().unwrap();
    std::thread::sleep(Duration::from_millis(300));
    drop(stream);
}

async fn job_when_finished(app: &TestApp, id: &str) -> Value {
    for _ in 0..600 {
        let job = tus(app, "GET", &format!("/api/admin/jobs/{id}"), &[], vec![]).await.body;
        if ["done", "failed", "cancelled"].contains(&job["state"].as_str().unwrap_or_default()) {
            return job;
        }
        actix_web::rt::time::sleep(Duration::from_millis(200)).await;
    }
    panic!("job {id} did not finish");
}

fn upload_files(app: &TestApp) -> Vec<std::path::PathBuf> {
    files_under(&app.config.storage.upload_dir())
}

#[actix_web::test]
async fn an_upload_cut_off_resumes_where_it_stopped_and_becomes_a_movie() {
    let app = TestApp::spawn().await;
    let file = std::fs::read(clip(4, 426, 240, true)).unwrap();
    let options = tus(&app, "OPTIONS", "/api/admin/uploads", &[], vec![]).await;
    assert_eq!((options.status, options.header("tus-version")), (204, "1.0.0"));
    assert_eq!(options.header("tus-extension"), "creation,expiration,termination");

    let created = create(&app, file.len(), "Holiday 2024.mp4", None).await;
    assert_eq!(created.status, 201, "{}", created.body);
    assert!(!created.header("upload-expires").is_empty());
    let location = created.header("location").to_owned();
    let half = file.len() / 2;
    let first = patch(&app, &location, 0, &file[..half]).await;
    assert_eq!((first.status, first.header("upload-offset")), (204, &*half.to_string()));

    // The connection drops a quarter of the way into the second half.
    let quarter = file.len() / 4;
    cut_patch(&app, &location, half, file.len() - half, &file[half..half + quarter]);
    let mut resume_at = half;
    for _ in 0..50 {
        resume_at = offset_of(&app, &location).await.1;
        if resume_at == half + quarter {
            break;
        }
        actix_web::rt::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(resume_at, half + quarter, "what arrived before the cut is kept");
    // Until the server has seen the connection go, the upload is still being
    // written: a resume is told 423, which tus clients retry.
    let mut stale = patch(&app, &location, half, &file[half..]).await;
    for _ in 0..50 {
        if stale.status != 423 {
            break;
        }
        actix_web::rt::time::sleep(Duration::from_millis(100)).await;
        stale = patch(&app, &location, half, &file[half..]).await;
    }
    assert_eq!((stale.status, stale.body["error"].as_str()), (409, Some("offset_mismatch")));

    let last = patch(&app, &location, resume_at, &file[resume_at..]).await;
    assert_eq!(last.status, 204, "{}", last.body);
    let job_id = last.header("cinemesh-job").to_owned();
    assert_eq!(location, format!("/api/admin/uploads/{job_id}"), "the job has the upload's id");
    let job = job_when_finished(&app, &job_id).await;
    assert_eq!((job["state"].as_str(), job["file_name"].as_str()), (Some("done"), Some("Holiday 2024.mp4")), "{job}");
    let (_, movie) = app.get_json(&format!("/api/movies/{}", job["movie_id"].as_str().unwrap())).await;
    assert_eq!(movie["title"], "Holiday 2024", "the title defaults to the file's name");
    assert!(upload_files(&app).is_empty(), "{:?}", upload_files(&app));

    // A client that lost the last answer learns the upload is complete, and
    // sending the end again makes no second job.
    assert_eq!(offset_of(&app, &location).await, (200, file.len()));
    let again = patch(&app, &location, file.len(), &[]).await;
    assert_eq!((again.status, again.header("cinemesh-job")), (204, job_id.as_str()));
    let (_, jobs) = crate::helpers::admin_json(&app, "GET", "/api/admin/jobs", None).await;
    assert_eq!(jobs["jobs"].as_array().unwrap().len(), 1);
    assert_eq!(app.get_json("/api/movies").await.1["total"], 1);
    let cancel = tus(&app, "DELETE", &location, &[TUS], vec![]).await;
    assert_eq!((cancel.status, cancel.body["error"].as_str()), (409, Some("upload_complete")));
    // Its record goes when it expires; the movie stays.
    assert_eq!(uploads_of(&app).await.sweep_expired(day_later()).await.unwrap(), 1);
    assert_eq!(offset_of(&app, &location).await.0, 404);
    assert_eq!(app.get_json("/api/movies").await.1["total"], 1);
}

async fn uploads_of(app: &TestApp) -> cinemesh_catalog::uploads::UploadStore {
    let db = cinemesh_common::Database::connect(&app.config.storage.database_url()).await.unwrap();
    cinemesh_catalog::uploads::UploadStore::new(db, app.config.storage.upload_dir())
}

fn day_later() -> i64 {
    cinemesh_common::db::now_ms() + 25 * 3600 * 1000
}

#[actix_web::test]
async fn creations_are_refused_before_the_first_byte_and_leave_nothing() {
    let app = TestApp::spawn_with(|c| c.admin.max_upload_mib = 1).await;
    let no_version = tus(&app, "POST", "/api/admin/uploads", &[("upload-length", "10")], vec![]).await;
    assert_eq!((no_version.status, no_version.header("tus-version")), (412, "1.0.0"));
    let cases: [(usize, &str, Option<&str>, u16, &str); 6] = [
        (1024 * 1024 + 1, "big.mp4", None, 413, "upload_too_large"),
        (0, "empty.mp4", None, 400, "empty_upload"),
        (100, "list.m3u8", None, 415, "unsupported_type"),
        (100, "poster.jpg", Some("A poster"), 415, "unsupported_type"),
        (100, "movie.mkv", Some("bell\u{7}title"), 400, "invalid_title"),
        (100, ".mp4", Some(&"x".repeat(201)), 400, "invalid_title"),
    ];
    for (length, name, title, status, code) in cases {
        let answer = create(&app, length, name, title).await;
        assert_eq!((answer.status, answer.body["error"].as_str()), (status, Some(code)), "{name}");
        assert_eq!(answer.header("tus-resumable"), "1.0.0");
    }
    let no_length = tus(&app, "POST", "/api/admin/uploads", &[TUS], vec![]).await;
    assert_eq!(no_length.body["error"], "invalid_upload_length");
    let bad_year = format!("{},year {}", metadata("a.mp4", Some("A")), STANDARD.encode("soon"));
    let answer =
        tus(&app, "POST", "/api/admin/uploads", &[TUS, ("upload-length", "5"), ("upload-metadata", &bad_year)], vec![])
            .await;
    assert_eq!(answer.body["error"], "invalid_year");
    let unauthenticated = app.client.post(app.url("/api/admin/uploads")).insert_header(TUS).send().await.unwrap();
    assert_eq!(unauthenticated.status().as_u16(), 401);
    assert!(upload_files(&app).is_empty(), "{:?}", upload_files(&app));
}

#[actix_web::test]
async fn a_movie_named_file_that_is_not_a_movie_is_refused_by_the_probe_and_leaves_nothing() {
    let app = TestApp::spawn().await;
    let bytes = b"#EXTM3U\n#EXTINF:2,\nfile:///etc/passwd\n".repeat(20);
    let created = create(&app, bytes.len(), "trailer.mp4", Some("Not a movie")).await;
    let location = created.header("location").to_owned();
    let done = patch(&app, &location, 0, &bytes).await;
    assert_eq!(done.status, 204);
    let job = job_when_finished(&app, done.header("cinemesh-job")).await;
    assert_eq!(job["state"], "failed", "{job}");
    assert!(["not_a_video", "unsupported_container"].contains(&job["error"].as_str().unwrap()), "{job}");
    assert!(!job["message"].as_str().unwrap().is_empty());
    assert!(upload_files(&app).is_empty(), "{:?}", upload_files(&app));
    app.assert_nothing_left().await;
}

#[actix_web::test]
async fn many_creations_from_one_address_are_limited_and_uploads_can_be_cancelled_or_expire() {
    let app = TestApp::spawn().await;
    let answers = futures_util::future::join_all((0..100).map(|i| {
        let app = &app;
        async move { create(app, 1000, &format!("episode {i}.mkv"), None).await }
    }))
    .await;
    let created: Vec<&Answer> = answers.iter().filter(|a| a.status == 201).collect();
    let limited = answers.iter().filter(|a| a.status == 429 && a.body["error"] == "too_many_uploads").count();
    assert_eq!(created.len() + limited, 100);
    assert!(created.len() <= 20, "{} of 100 were let through", created.len());
    assert!(limited >= 80);

    // While a request writes an upload (here, as if: its file is locked),
    // it can neither be cancelled nor swept from under it.
    let busy = created[1].header("location").to_owned();
    let writing = std::fs::File::open(uploads_of(&app).await.path_of(busy.rsplit('/').next().unwrap())).unwrap();
    writing.lock().unwrap();
    let refused = tus(&app, "DELETE", &busy, &[TUS], vec![]).await;
    assert_eq!((refused.status, refused.body["error"].as_str()), (423, Some("upload_locked")));
    let refused = patch(&app, &busy, 0, b"abc").await;
    assert_eq!((refused.status, refused.body["error"].as_str()), (423, Some("upload_locked")));

    let cancelled = created[0].header("location").to_owned();
    let terminated = tus(&app, "DELETE", &cancelled, &[TUS], vec![]).await;
    assert_eq!(terminated.status, 204);
    assert_eq!(offset_of(&app, &cancelled).await.0, 404);
    assert_eq!(upload_files(&app).len(), created.len() - 1, "its file went with it");

    // A day later the unfinished ones are swept, files and all, but the one
    // being written waits for the next sweep.
    let uploads = uploads_of(&app).await;
    assert_eq!(uploads.sweep_expired(day_later()).await.unwrap(), created.len() - 2);
    assert_eq!(upload_files(&app).len(), 1);
    drop(writing);
    assert_eq!(uploads.sweep_expired(day_later()).await.unwrap(), 1);
    assert_eq!(offset_of(&app, &busy).await.0, 404);
    assert!(upload_files(&app).is_empty(), "{:?}", upload_files(&app));
}
