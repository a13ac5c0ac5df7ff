//! Ingest: a generated clip becomes an ABR ladder of aligned 2 s segments with
//! one audio track, a poster and catalog rows whose sizes and SHA-256 match
//! the files; every failure (no ffmpeg, unreadable file, not a video, too
//! small, ffmpeg dying half-way, the database failing at the end) is reported
//! with its code and leaves no rows and no files behind.

use std::path::{Path, PathBuf};
use std::process::Command;

use cinemesh_catalog::domain::{Description, Title};
use cinemesh_catalog::ingest::{IngestRequest, Ingester};
use sha2::{Digest, Sha256};

use crate::helpers::{TestApp, clip, wrapped_ffmpeg};

pub fn request(source: &Path) -> IngestRequest {
    IngestRequest {
        source: source.to_path_buf(),
        title: Title::parse("Test Clip").unwrap(),
        description: Description::parse("generated").unwrap(),
        year: None,
        subtitles: vec![],
        staging_name: None,
    }
}

async fn ingest_error(ingester: &Ingester, source: &Path) -> &'static str {
    ingester.ingest(&request(source), &mut |_| {}).await.expect_err("ingest should fail").code()
}

/// Presentation time of the first video frame of a segment, and whether it is a keyframe.
fn first_video_frame(segment: &Path) -> (String, bool) {
    let out = Command::new("ffprobe")
        .args(["-v", "error", "-select_streams", "v:0", "-read_intervals", "%+#1"])
        .args(["-show_entries", "frame=pts_time,key_frame", "-of", "csv=p=0"])
        .arg(segment)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    let line = text.lines().next().unwrap_or_default().to_owned();
    let mut fields = line.split(',');
    let key = fields.next() == Some("1");
    (fields.next().unwrap_or_default().to_owned(), key)
}

pub fn stream_types(file: &Path) -> Vec<String> {
    let out = Command::new("ffprobe")
        .args(["-v", "error", "-show_entries", "stream=codec_type", "-of", "json"])
        .arg(file)
        .output()
        .unwrap();
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    json["streams"].as_array().unwrap().iter().map(|s| s["codec_type"].as_str().unwrap().to_owned()).collect()
}

#[actix_web::test]
async fn cli_ingest_packages_a_20s_clip_into_aligned_renditions() {
    let app = TestApp::spawn().await;
    let source = clip(20, 1280, 720, true);
    let out = app.cli().args(["ingest", "--title", "Twenty Seconds", "--year", "2024"]).arg(&source).output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "ingest failed: {stderr}");
    assert!(stderr.contains("100%") && stderr.contains("ETA"), "progress bar shown: {stderr}");
    assert!(stdout.contains("audio tracks: one, in every video rendition\nsubtitles: none\n"), "{stdout}");
    let id = stdout.trim().rsplit(' ').next().unwrap().to_owned();

    let (status, movie) = app.get_json(&format!("/api/movies/{id}")).await;
    assert_eq!(status, 200, "{movie}");
    assert_eq!(movie["title"], "Twenty Seconds");
    assert_eq!(movie["year"], 2024);
    assert!((movie["duration_ms"].as_i64().unwrap() - 20_000).abs() <= 100, "{}", movie["duration_ms"]);
    let names: Vec<_> = movie["renditions"].as_array().unwrap().iter().map(|r| r["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["720p", "480p", "360p", "240p"]);
    assert_eq!(
        (movie["renditions"][1]["width"].as_i64(), movie["renditions"][1]["height"].as_i64()),
        (Some(854), Some(480))
    );
    assert_eq!(
        (movie["renditions"][2]["width"].as_i64(), movie["renditions"][2]["height"].as_i64()),
        (Some(640), Some(360))
    );

    let (_, manifest) = app.get_json(&format!("/api/movies/{id}/segments")).await;
    let movie_dir = app.media_dir().join(&id);
    let mut first_frames: Vec<Vec<(String, bool)>> = Vec::new();
    for rendition in manifest["renditions"].as_array().unwrap() {
        let name = rendition["name"].as_str().unwrap();
        let durations = rendition["durations_ms"].as_array().unwrap();
        assert_eq!(durations.len(), 10, "{name}: 20 s in 2 s segments");
        assert!(durations.iter().all(|d| d == 2000), "{name}: every segment is 2 s: {durations:?}");
        let mut frames = Vec::new();
        for (i, (size, hash)) in
            rendition["sizes_bytes"].as_array().unwrap().iter().zip(rendition["sha256"].as_array().unwrap()).enumerate()
        {
            let path = movie_dir.join(name).join(format!("seg_{i:05}.ts"));
            let bytes = std::fs::read(&path).unwrap();
            assert_eq!(bytes.len() as i64, size.as_i64().unwrap(), "{}", path.display());
            assert_eq!(hex::encode(Sha256::digest(&bytes)), hash.as_str().unwrap(), "{}", path.display());
            frames.push(first_video_frame(&path));
        }
        assert!(frames.iter().all(|(_, key)| *key), "{name}: every segment starts on a keyframe");
        assert_eq!(stream_types(&movie_dir.join(name).join("seg_00000.ts")), ["video", "audio"], "one audio track");
        first_frames.push(frames);
    }
    assert_eq!(first_frames[0], first_frames[1], "segment boundaries line up across renditions");

    let mut poster = app.client.get(app.url(&format!("/media/{id}/poster.jpg"))).send().await.unwrap();
    assert_eq!(poster.status().as_u16(), 200);
    assert!(poster.body().await.unwrap().starts_with(&[0xFF, 0xD8]), "poster is a JPEG");
    let mut master = app.client.get(app.url(&format!("/media/{id}/master.m3u8"))).send().await.unwrap();
    let master = String::from_utf8(master.body().await.unwrap().to_vec()).unwrap();
    assert!(master.contains("720p/index.m3u8") && master.contains("360p/index.m3u8"), "{master}");
    assert!(!app.media_dir().join(".staging").join(&id).exists());
}

#[actix_web::test]
async fn a_source_without_audio_gets_a_silent_track_and_small_sources_lower_rungs() {
    let app = TestApp::spawn().await;
    let movie = app.ingester().ingest(&request(&clip(4, 426, 240, false)), &mut |_| {}).await.unwrap();
    let (_, detail) = app.get_json(&format!("/api/movies/{}", movie.id)).await;
    let names: Vec<_> = detail["renditions"].as_array().unwrap().iter().map(|r| r["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["240p", "144p"], "never upscaled, still two renditions");
    let segment = app.media_dir().join(&movie.id).join("144p/seg_00000.ts");
    assert_eq!(stream_types(&segment), ["video", "audio"]);
}

#[actix_web::test]
async fn missing_ffmpeg_is_reported_and_leaves_nothing() {
    let app = TestApp::spawn_with(|c| c.ingest.ffmpeg = "/nonexistent/ffmpeg".into()).await;
    assert_eq!(ingest_error(&app.ingester(), &clip(4, 426, 240, true)).await, "ffmpeg_missing");
    app.assert_nothing_left().await;
}

#[actix_web::test]
async fn unreadable_sources_are_reported_and_leave_nothing() {
    let app = TestApp::spawn().await;
    let ingester = app.ingester();
    assert_eq!(ingest_error(&ingester, Path::new("/nonexistent/movie.mp4")).await, "source_unreadable");
    assert_eq!(ingest_error(&ingester, &app.config.storage.data_dir).await, "source_unreadable");
    app.assert_nothing_left().await;
}

#[actix_web::test]
async fn files_that_are_not_videos_are_reported_and_leave_nothing() {
    let app = TestApp::spawn().await;
    let dir = tempfile::tempdir().unwrap();
    let text = dir.path().join("notes.mp4");
    std::fs::write(&text, "this is not a movie\n".repeat(100)).unwrap();
    let audio = dir.path().join("tone.m4a");
    let made = Command::new("ffmpeg")
        .args(["-loglevel", "error", "-f", "lavfi", "-i", "sine", "-t", "2"])
        .arg(&audio)
        .status()
        .unwrap();
    assert!(made.success());
    assert_eq!(ingest_error(&app.ingester(), &text).await, "not_a_video");
    assert_eq!(ingest_error(&app.ingester(), &audio).await, "not_a_video");
    app.assert_nothing_left().await;
}

#[actix_web::test]
async fn videos_too_small_for_two_renditions_are_refused() {
    let app = TestApp::spawn().await;
    assert_eq!(ingest_error(&app.ingester(), &clip(2, 160, 120, true)).await, "video_too_small");
    app.assert_nothing_left().await;
}

/// An ffmpeg that is killed a second into the packaging run, after it has
/// written some segments.
fn dying_ffmpeg(dir: &Path) -> PathBuf {
    wrapped_ffmpeg(
        dir,
        "case \"$*\" in *master_pl_name*)\n  ffmpeg \"$@\" & pid=$!\n  sleep 1\n  kill -9 $pid\n  wait $pid\n  exit 137;;\nesac",
    )
}

#[actix_web::test]
async fn ffmpeg_dying_half_way_leaves_nothing() {
    let tools = tempfile::tempdir().unwrap();
    let ffmpeg = dying_ffmpeg(tools.path());
    let app = TestApp::spawn_with(|c| c.ingest.ffmpeg = ffmpeg).await;
    assert_eq!(ingest_error(&app.ingester(), &clip(20, 1280, 720, true)).await, "encode_failed");
    app.assert_nothing_left().await;
}

#[actix_web::test]
async fn database_failure_at_the_end_leaves_nothing() {
    let app = TestApp::spawn().await;
    let db = app.database().await;
    // The segments insert fails after the movie and rendition rows were written
    // in the same transaction: all of it must roll back, and the files must go.
    sqlx::query("DROP TABLE segments").execute(db.pool()).await.unwrap();
    db.close().await;
    assert_eq!(ingest_error(&app.ingester(), &clip(4, 426, 240, true)).await, "database_error");
    app.assert_no_rows_in(&["movies", "renditions"]).await;
    app.assert_no_files_left();
}
