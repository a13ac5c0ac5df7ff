//! Ingest of a source with two audio languages and three subtitle tracks:
//! each audio track becomes an audio-only rendition cut at the video's 2 s
//! boundaries and recorded with its hashes, each text subtitle a WebVTT file
//! with its cues at their times, and the master playlist names them all with
//! their languages. A failure half-way leaves nothing.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::helpers::{TestApp, tracks_clip, wrapped_ffmpeg};
use crate::ingest::{request, stream_types};

/// The pitch of a segment's audio, from its zero crossings, Hz.
fn tone_hz(segment: &Path) -> f64 {
    let out = Command::new("ffmpeg")
        .args(["-hide_banner", "-loglevel", "error", "-i"])
        .arg(segment)
        .args(["-f", "s16le", "-ac", "1", "-ar", "48000", "-"])
        .output()
        .unwrap();
    let samples: Vec<i16> = out.stdout.chunks_exact(2).map(|b| i16::from_le_bytes([b[0], b[1]])).collect();
    let crossings = samples.windows(2).filter(|w| (w[0] < 0) != (w[1] < 0)).count();
    crossings as f64 / 2.0 / (samples.len() as f64 / 48_000.0)
}

/// The cues of a WebVTT file: start and end in seconds, and the text.
fn cues(vtt: &str) -> Vec<(f64, f64, String)> {
    let seconds = |stamp: &str| -> f64 {
        let stamp = stamp.split_whitespace().next().unwrap_or_default();
        stamp.split(':').fold(0.0, |total, part| total * 60.0 + part.parse::<f64>().unwrap())
    };
    let lines: Vec<&str> = vtt.lines().collect();
    let mut cues = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        if let Some((start, end)) = line.split_once(" --> ") {
            let text: Vec<&str> = lines[i + 1..].iter().take_while(|l| !l.is_empty()).copied().collect();
            cues.push((seconds(start), seconds(end), text.join("\n")));
        }
    }
    cues
}

fn assert_cues(got: &[(f64, f64, String)], want: &[(f64, f64, &str)]) {
    assert_eq!(got.len(), want.len(), "{got:?}");
    for (got, want) in got.iter().zip(want) {
        assert!((got.0 - want.0).abs() < 0.05 && (got.1 - want.1).abs() < 0.05, "{got:?} against {want:?}");
        assert_eq!(got.2, want.2);
    }
}

fn names(list: &Value) -> Vec<&str> {
    list.as_array().unwrap().iter().map(|r| r["name"].as_str().unwrap()).collect()
}

#[actix_web::test]
async fn every_audio_language_and_text_subtitle_is_packaged_hashed_and_named() {
    let app = TestApp::spawn().await;
    let movie = app.ingester().ingest(&request(&tracks_clip()), &mut |_| {}).await.unwrap();
    let id = movie.id;
    let (status, detail) = app.get_json(&format!("/api/movies/{id}")).await;
    assert_eq!(status, 200, "{detail}");
    assert_eq!(names(&detail["renditions"]), ["360p", "240p"], "video only: {detail}");

    let audio = detail["audio_tracks"].as_array().unwrap();
    let described: Vec<_> = audio
        .iter()
        .map(|t| {
            (t["name"].as_str().unwrap(), t["language"].as_str(), t["label"].as_str().unwrap(), t["is_default"] == true)
        })
        .collect();
    assert_eq!(
        described,
        [("audio-en", Some("en"), "English", false), ("audio-fr", Some("fr"), "Français", true)],
        "the source's default is kept"
    );
    assert!(audio.iter().all(|t| t["channels"] == 2 && t["codecs"] == "mp4a.40.2"), "{audio:?}");

    let subtitles = detail["subtitles"].as_array().unwrap();
    let described: Vec<_> = subtitles
        .iter()
        .map(|t| (t["name"].as_str().unwrap(), t["language"].as_str(), t["label"].as_str().unwrap()))
        .collect();
    assert_eq!(
        described,
        [("subs-en", Some("en"), "English"), ("subs-fr", Some("fr"), "Français"), ("subs-und", None, "Styled signs")],
        "an untagged track keeps its title, cleaned of control characters"
    );
    assert_eq!(detail["skipped_tracks"], serde_json::json!([]));

    // Video segments carry no audio; each audio rendition is its own tone.
    let movie_dir = app.media_dir().join(&id);
    assert_eq!(stream_types(&movie_dir.join("360p/seg_00000.ts")), ["video"]);
    assert_eq!(stream_types(&movie_dir.join("audio-en/seg_00000.ts")), ["audio"]);
    for (folder, hz) in [("audio-en", 440.0), ("audio-fr", 660.0)] {
        let measured = tone_hz(&movie_dir.join(folder).join("seg_00002.ts"));
        assert!((measured - hz).abs() < 10.0, "{folder}: {measured:.0} Hz, not {hz}");
    }

    // Peers share audio like video: every audio segment is in the manifest with
    // its size and hash, cut at the video's 2 s boundaries; subtitles are not.
    let (_, manifest) = app.get_json(&format!("/api/movies/{id}/segments")).await;
    assert_eq!(names(&manifest["renditions"]), ["360p", "240p", "audio-en", "audio-fr"], "{manifest}");
    let video_segments = manifest["renditions"][0]["durations_ms"].as_array().unwrap().len();
    for rendition in &manifest["renditions"].as_array().unwrap()[2..] {
        let name = rendition["name"].as_str().unwrap();
        assert_eq!(rendition["kind"], "audio");
        let durations: Vec<i64> =
            rendition["durations_ms"].as_array().unwrap().iter().map(|d| d.as_i64().unwrap()).collect();
        let mut end = 0;
        for (i, duration) in durations.iter().enumerate().take(video_segments - 1) {
            end += duration;
            let boundary = 2000 * (i as i64 + 1);
            assert!((end - boundary).abs() <= 30, "{name}: segment {i} ends at {end} ms, the video's at {boundary}");
        }
        let sizes = rendition["sizes_bytes"].as_array().unwrap();
        for (i, (size, hash)) in sizes.iter().zip(rendition["sha256"].as_array().unwrap()).enumerate() {
            let bytes = std::fs::read(movie_dir.join(name).join(format!("seg_{i:05}.ts"))).unwrap();
            assert_eq!(bytes.len() as i64, size.as_i64().unwrap(), "{name}/{i}");
            assert_eq!(hex::encode(Sha256::digest(&bytes)), hash.as_str().unwrap(), "{name}/{i}");
        }
    }

    // The master names every track; every variant points at both groups.
    let master = app.get_text(&format!("/media/{id}/master.m3u8")).await;
    assert!(
        master.contains(
            "#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID=\"audio\",NAME=\"Français\",LANGUAGE=\"fr\",DEFAULT=YES,AUTOSELECT=YES,CHANNELS=\"2\",URI=\"audio-fr/index.m3u8\""
        ),
        "{master}"
    );
    assert!(
        master.contains("TYPE=SUBTITLES,GROUP-ID=\"subs\",NAME=\"English\",LANGUAGE=\"en\",DEFAULT=NO"),
        "{master}"
    );
    assert_eq!(master.matches("AUDIO=\"audio\",SUBTITLES=\"subs\"\n").count(), 2, "{master}");

    // Subtitles are WebVTT with their cues at the source's times (within the
    // 23 ms the clip's muxer shifted everything by for the AAC priming).
    let english = app.get_text(subtitles[0]["url"].as_str().unwrap()).await;
    assert!(english.starts_with("WEBVTT"), "{english}");
    assert_cues(
        &cues(&english),
        &[(1.0, 2.5, "Hello there"), (4.0, 5.0, "<i>The second line</i>"), (7.0, 8.0, "The last line")],
    );
    let french = app.get_text(subtitles[1]["url"].as_str().unwrap()).await;
    assert_cues(&cues(&french), &[(1.5, 3.0, "Bonjour à tous"), (6.0, 7.0, "Deuxième réplique")]);
    let styled = cues(&app.get_text(subtitles[2]["url"].as_str().unwrap()).await);
    assert_eq!(styled.len(), 2, "{styled:?}");
    assert!((styled[0].0 - 2.0).abs() < 0.05 && (styled[0].1 - 3.5).abs() < 0.05, "{styled:?}");
    assert!(
        styled[0].2.contains("Bold") && !styled[0].2.contains("{\\b1}"),
        "ASS overrides do not leak as text: {styled:?}"
    );
    let playlist = app.get_text(subtitles[0]["playlist_url"].as_str().unwrap()).await;
    let length = format!("#EXTINF:{:.3},\nsubtitles.vtt\n", detail["duration_ms"].as_f64().unwrap() / 1000.0);
    assert!(playlist.contains(&length), "one file as long as the movie: {playlist}");
    let mut response = app.client.get(app.url(subtitles[0]["url"].as_str().unwrap())).send().await.unwrap();
    assert_eq!(response.headers().get("content-type").unwrap(), "text/vtt; charset=utf-8");
    let _ = response.body().await;
}

#[actix_web::test]
async fn a_movie_with_one_audio_track_keeps_it_in_its_video_and_lists_no_tracks() {
    let app = TestApp::spawn().await;
    // Its one track tagged German.
    let german = app.media_dir().join("../german.mp4");
    let status = Command::new("ffmpeg")
        .args(["-hide_banner", "-loglevel", "error", "-y", "-i"])
        .arg(crate::helpers::clip(4, 426, 240, true))
        .args(["-c", "copy", "-metadata:s:a:0", "language=ger"])
        .arg(&german)
        .status()
        .unwrap();
    assert!(status.success());
    let movie = app.ingester().ingest(&request(&german), &mut |_| {}).await.unwrap();
    let (_, detail) = app.get_json(&format!("/api/movies/{}", movie.id)).await;
    assert_eq!(detail["audio_tracks"], serde_json::json!([]));
    assert_eq!(detail["audio_language"], "de", "the muxed track's language is kept");
    assert_eq!(detail["subtitles"], serde_json::json!([]));
    let master = app.get_text(&format!("/media/{}/master.m3u8", movie.id)).await;
    assert!(!master.contains("EXT-X-MEDIA") && master.contains("240p/index.m3u8"), "{master}");
    let segment = app.media_dir().join(&movie.id).join("240p/seg_00000.ts");
    assert_eq!(stream_types(&segment), ["video", "audio"]);
}

/// An ffmpeg that fails the subtitle run, after the packaging run wrote everything else.
fn ffmpeg_failing_subtitles(dir: &Path) -> PathBuf {
    wrapped_ffmpeg(dir, "case \"$*\" in *webvtt*) echo broken >&2; exit 1;; esac")
}

#[actix_web::test]
async fn a_subtitle_run_that_fails_after_the_encode_leaves_nothing() {
    let tools = tempfile::tempdir().unwrap();
    let ffmpeg = ffmpeg_failing_subtitles(tools.path());
    let app = TestApp::spawn_with(|c| c.ingest.ffmpeg = ffmpeg).await;
    let error = app.ingester().ingest(&request(&tracks_clip()), &mut |_| {}).await.expect_err("the subtitle run fails");
    assert_eq!(error.code(), "encode_failed", "{error}");
    assert!(!error.to_string().contains(tools.path().to_str().unwrap()), "no server paths: {error}");
    app.assert_nothing_left().await;
    app.assert_no_rows_in(&["skipped_tracks"]).await;
}
