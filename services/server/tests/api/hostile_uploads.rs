//! Uploads made to hurt the server, through the admin API:
//! - an HLS playlist or an ffconcat list naming files on the server, or an
//!   image, is refused as `unsupported_container` before ffmpeg reads any of it;
//! - an MP4 cut off after its index, which declares more than it holds, is
//!   refused as `source_truncated`;
//! - error responses never name files or folders of the server, whatever
//!   failed (unreadable source, not a video, poster or packaging run, no ffmpeg);
//! - a `Content-Length` over the limit is refused at once, before the body;
//!   a chunked body is cut off as it passes the limit;
//!
//! and each leaves no catalog rows and no files behind.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use actix_web::web::Bytes;
use serde_json::Value;

use crate::helpers::{ADMIN_TOKEN, TestApp, clip, raw_request, upload_movie};

async fn upload(app: &TestApp, body: Vec<u8>) -> (u16, Value) {
    upload_movie(app, "Hostile", body).await
}

fn run_ffmpeg(args: &[&str], output: &Path) {
    let status =
        Command::new("ffmpeg").args(["-hide_banner", "-loglevel", "error", "-y"]).args(args).arg(output).status();
    assert!(status.unwrap().success(), "ffmpeg made {}", output.display());
}

#[actix_web::test]
async fn an_hls_playlist_naming_a_local_file_is_refused() {
    let app = TestApp::spawn().await;
    // A movie in a folder of the server, as HLS segments are.
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("elsewhere.ts");
    let source = clip(4, 426, 240, true).display().to_string();
    run_ffmpeg(&["-i", &source, "-c", "copy", "-f", "mpegts"], &target);
    let playlist = format!(
        "#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:4\n#EXTINF:4.0,\n{}\n#EXT-X-ENDLIST\n",
        target.display()
    );
    let (status, body) = upload(&app, playlist.into_bytes()).await;
    assert_eq!((status, body["error"].as_str()), (422, Some("unsupported_container")), "{body}");
    assert!(body["message"].as_str().unwrap().contains("hls"), "names what it saw: {body}");
    app.assert_nothing_left().await;
}

#[actix_web::test]
async fn an_ffconcat_list_naming_another_upload_is_refused() {
    let app = TestApp::spawn().await;
    // Another upload being received: a concat list beside it may name it
    // (ffconcat's safe mode only keeps names inside the list's folder).
    let uploads = app.config.storage.upload_dir();
    std::fs::create_dir_all(&uploads).unwrap();
    let other = uploads.join("upload-other");
    std::fs::copy(clip(4, 426, 240, true), &other).unwrap();
    let (status, body) = upload(&app, b"ffconcat version 1.0\nfile 'upload-other'\nduration 4.0\n".to_vec()).await;
    assert_eq!((status, body["error"].as_str()), (422, Some("unsupported_container")), "{body}");
    std::fs::remove_file(other).unwrap();
    app.assert_nothing_left().await;
}

#[actix_web::test]
async fn a_still_image_is_refused_as_an_unsupported_container() {
    let app = TestApp::spawn().await;
    let dir = tempfile::tempdir().unwrap();
    let png = dir.path().join("frame.png");
    run_ffmpeg(&["-f", "lavfi", "-i", "testsrc2=size=640x360", "-frames:v", "1"], &png);
    let (status, body) = upload(&app, std::fs::read(png).unwrap()).await;
    assert_eq!((status, body["error"].as_str()), (422, Some("unsupported_container")), "{body}");
    app.assert_nothing_left().await;
}

#[actix_web::test]
async fn an_mp4_cut_off_after_its_index_is_refused_as_truncated() {
    let app = TestApp::spawn().await;
    let dir = tempfile::tempdir().unwrap();
    // faststart puts the index (with the full duration) before the media.
    let whole = dir.path().join("whole.mp4");
    let source = clip(6, 426, 240, true).display().to_string();
    run_ffmpeg(&["-i", &source, "-c", "copy", "-movflags", "+faststart"], &whole);
    let mut bytes = std::fs::read(&whole).unwrap();
    bytes.truncate(bytes.len() / 2);
    let (status, body) = upload(&app, bytes).await;
    assert_eq!((status, body["error"].as_str()), (422, Some("source_truncated")), "{body}");
    assert!(body["message"].as_str().unwrap().contains("6.0 s"), "states the declared length: {body}");
    app.assert_nothing_left().await;
}

/// Asserts that an error body names no file or folder: no absolute path at
/// all, and in particular not the app's data folder (media, staging, uploads).
fn assert_no_server_paths(app: &TestApp, body: &Value) {
    let text = body.to_string();
    let data_dir = app.config.storage.data_dir.display().to_string();
    assert!(!text.contains(&data_dir), "the data folder is named: {text}");
    let message = body["message"].as_str().unwrap();
    let absolute =
        message.split_whitespace().find(|w| w.trim_start_matches(['(', '"', '\'', '`', '[']).starts_with('/'));
    assert_eq!(absolute, None, "an absolute path in {message:?}");
}

/// The real ffmpeg, except that when its arguments contain `when` it first
/// deletes every upload in `uploads`, as if the source vanished mid-ingest.
fn ffmpeg_losing_the_upload(dir: &Path, uploads: &Path, when: &str) -> PathBuf {
    let path = dir.join("ffmpeg");
    let script =
        format!("#!/bin/sh\ncase \"$*\" in *{when}*) rm -f '{}'/*;; esac\nexec ffmpeg \"$@\"\n", uploads.display());
    std::fs::write(&path, script).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    path
}

#[actix_web::test]
async fn errors_never_name_files_of_the_server() {
    let movie = std::fs::read(clip(4, 426, 240, true)).unwrap();
    // (when the upload vanishes, the code answered)
    let cases =
        [("-version", "source_unreadable"), ("poster.jpg", "encode_failed"), ("master_pl_name", "encode_failed")];
    for (when, code) in cases {
        let tools = tempfile::tempdir().unwrap();
        let app = TestApp::spawn_with(|c| {
            c.ingest.ffmpeg = ffmpeg_losing_the_upload(tools.path(), &c.storage.upload_dir(), when);
        })
        .await;
        let (status, body) = upload(&app, movie.clone()).await;
        assert_eq!((status, body["error"].as_str()), (422, Some(code)), "{when}: {body}");
        assert_no_server_paths(&app, &body);
        app.assert_nothing_left().await;
    }

    let app = TestApp::spawn().await;
    let (status, body) = upload(&app, b"this is not a movie\n".repeat(100)).await;
    assert_eq!((status, body["error"].as_str()), (422, Some("not_a_video")), "{body}");
    assert_no_server_paths(&app, &body);

    let app = TestApp::spawn_with(|c| c.ingest.ffmpeg = "/nonexistent/bin/ffmpeg".into()).await;
    let (status, body) = upload(&app, movie).await;
    assert_eq!((status, body["error"].as_str()), (503, Some("ffmpeg_missing")), "{body}");
    assert_no_server_paths(&app, &body);
    app.assert_nothing_left().await;
}

#[actix_web::test]
async fn a_declared_length_over_the_limit_is_refused_before_the_body() {
    let app = TestApp::spawn_with(|c| c.admin.max_upload_mib = 1).await;
    let head = format!(
        "POST /api/admin/movies?title=Huge HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {ADMIN_TOKEN}\r\n\
         Content-Type: application/octet-stream\r\nContent-Length: 1099511627776\r\n\r\n"
    );
    let started = Instant::now();
    let (status, body) = raw_request(&app.address, &head, Duration::from_secs(5)).await;
    assert_eq!(status, 413, "answered without the terabyte: {body}");
    assert!(started.elapsed() < Duration::from_secs(2), "at once: {:?}", started.elapsed());
    let body: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(body["error"], "upload_too_large");
    app.assert_nothing_left().await;
}

#[actix_web::test]
async fn a_chunked_upload_is_cut_off_as_it_passes_the_limit() {
    let app = TestApp::spawn_with(|c| c.admin.max_upload_mib = 1).await;
    let chunks = (0..20).map(|_| Ok::<_, std::io::Error>(Bytes::from(vec![0u8; 64 * 1024])));
    let mut res = app
        .client
        .post(app.url("/api/admin/movies?title=Chunked"))
        .insert_header(("authorization", format!("Bearer {ADMIN_TOKEN}")))
        .send_stream(futures_util::stream::iter(chunks))
        .await
        .unwrap();
    let body: Value = serde_json::from_slice(&res.body().await.unwrap()).unwrap_or_default();
    assert_eq!((res.status().as_u16(), body["error"].as_str()), (413, Some("upload_too_large")), "{body}");
    app.assert_nothing_left().await;
}
