//! Subtitle files added to a movie after its ingest, through the admin API
//! and beside a source at ingest (`--subtitle fr=x.srt`): a Latin-1 SubRip
//! file and a styled ASS file become WebVTT tracks listed in the master
//! playlist; bad files (binary, 50 MB, negative or backwards times, an
//! unknown language) are refused with codes and the line, and leave the
//! catalog and the media folder as they were; a track is removed whole.

use serde_json::Value;

use crate::helpers::{ADMIN_TOKEN, TestApp, clip};

fn testdata(file: &str) -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../testdata/tracks").join(file)
}

async fn add(app: &TestApp, movie: &str, query: &str, body: Vec<u8>) -> (u16, Value) {
    let mut res = app
        .client
        .post(app.url(&format!("/api/admin/movies/{movie}/subtitles?{query}")))
        .insert_header(("authorization", format!("Bearer {ADMIN_TOKEN}")))
        .send_body(body)
        .await
        .unwrap();
    let body = res.body().limit(1 << 20).await.unwrap_or_default();
    (res.status().as_u16(), serde_json::from_slice(&body).unwrap_or_default())
}

async fn remove(app: &TestApp, movie: &str, name: &str) -> (u16, Value) {
    let mut res = app
        .client
        .delete(app.url(&format!("/api/admin/movies/{movie}/subtitles/{name}")))
        .insert_header(("authorization", format!("Bearer {ADMIN_TOKEN}")))
        .send()
        .await
        .unwrap();
    let body = res.body().await.unwrap_or_default();
    (res.status().as_u16(), serde_json::from_slice(&body).unwrap_or_default())
}

/// The movie's subtitle tracks and its media folder's entries: what a refused file must not change.
async fn state(app: &TestApp, movie: &str) -> (Value, Vec<String>, String) {
    let (_, detail) = app.get_json(&format!("/api/movies/{movie}")).await;
    let mut entries: Vec<String> = std::fs::read_dir(app.media_dir().join(movie))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    entries.sort();
    (detail["subtitles"].clone(), entries, app.get_text(&format!("/media/{movie}/master.m3u8")).await)
}

#[actix_web::test]
async fn subtitle_files_are_added_as_webvtt_tracks_refused_with_codes_and_removed_whole() {
    let app = TestApp::spawn().await;
    let movie = app.ingester().ingest(&crate::ingest::request(&clip(4, 426, 240, true)), &mut |_| {}).await.unwrap().id;

    // Latin-1, read as French's usual windows-1252.
    let (status, added) = add(&app, &movie, "language=fre", std::fs::read(testdata("latin1.srt")).unwrap()).await;
    assert_eq!(status, 201, "{added}");
    assert_eq!(
        (added["name"].as_str(), added["language"].as_str(), added["label"].as_str()),
        (Some("subs-fr"), Some("fr"), Some("Français"))
    );
    let vtt = app.get_text(added["url"].as_str().unwrap()).await;
    assert_eq!(vtt, "WEBVTT\n\n00:00:01.000 --> 00:00:02.000\nCafé crème, déjà vu\n");

    // ASS with styling and a sign at the top; a label with a control character.
    let label = "Signs%07%20%26%20songs";
    let (status, styled) =
        add(&app, &movie, &format!("language=en&label={label}"), std::fs::read(testdata("styled.ass")).unwrap()).await;
    assert_eq!(status, 201, "{styled}");
    assert_eq!(styled["label"], "Signs & songs", "cleaned");
    let vtt = app.get_text(styled["url"].as_str().unwrap()).await;
    assert!(vtt.contains("00:00:02.000 --> 00:00:03.500\n<b>Bold</b> and <i>italic</i>\n"), "{vtt}");
    assert!(vtt.contains("00:00:05.000 --> 00:00:06.000 line:0\nA sign at the top\nSecond row\n"), "{vtt}");

    let master = app.get_text(&format!("/media/{movie}/master.m3u8")).await;
    assert!(
        master.contains("NAME=\"Français\",LANGUAGE=\"fr\"") && master.contains("URI=\"subs-en/index.m3u8\""),
        "{master}"
    );
    assert!(master.contains(",SUBTITLES=\"subs\"\n"), "{master}");

    // Overlapping cues are fine (two people talking): both kept.
    let overlapping = b"1\n00:00:01,000 --> 00:00:03,000\nOne\n\n2\n00:00:02,000 --> 00:00:04,000\nTwo\n".to_vec();
    let (status, both) = add(&app, &movie, "language=de", overlapping).await;
    assert_eq!(status, 201, "{both}");
    assert_eq!(app.get_text(both["url"].as_str().unwrap()).await.matches(" --> ").count(), 2);

    // Two files at once: both are added, and the master lists both.
    let italian = std::fs::read(testdata("en.srt")).unwrap();
    let ((a, _), (b, _)) = futures_util::join!(
        add(&app, &movie, "language=it", italian.clone()),
        add(&app, &movie, "language=es", italian)
    );
    assert_eq!((a, b), (201, 201));
    let master = app.get_text(&format!("/media/{movie}/master.m3u8")).await;
    assert!(master.contains("subs-it/index.m3u8") && master.contains("subs-es/index.m3u8"), "{master}");

    let before = state(&app, &movie).await;
    let refusals: [(&str, Vec<u8>, u16, &str, &str); 7] = [
        ("language=fr", b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR".to_vec(), 422, "subtitle_not_text", "binary"),
        ("language=fr", vec![b'a'; 50 * 1024 * 1024], 413, "subtitle_too_large", "bytes"),
        (
            "language=fr",
            b"1\n00:00:01,000 --> 00:00:02,000\nok\n\n2\n-00:00:03,000 --> 00:00:04,000\nno\n".to_vec(),
            422,
            "subtitle_malformed",
            "line 6",
        ),
        (
            "language=fr",
            b"1\n00:00:05,000 --> 00:00:04,000\nbackwards\n".to_vec(),
            422,
            "subtitle_malformed",
            "line 2: the cue ends before it starts",
        ),
        ("language=english!", std::fs::read(testdata("en.srt")).unwrap(), 400, "invalid_language", "english!"),
        (
            "language=fr&encoding=klingon",
            std::fs::read(testdata("en.srt")).unwrap(),
            400,
            "unknown_encoding",
            "klingon",
        ),
        ("language=fr", b"WEBVTT\n\nNOTE nothing else\n".to_vec(), 422, "subtitle_empty", "no cues"),
    ];
    for (query, body, status, code, says) in refusals {
        let (got, error) = add(&app, &movie, query, body).await;
        assert_eq!((got, error["error"].as_str()), (status, Some(code)), "{error}");
        assert!(error["message"].as_str().unwrap_or_default().contains(says), "{error}");
    }
    assert_eq!(state(&app, &movie).await, before, "refused files change nothing");
    let (status, error) = add(&app, "nosuchmovie", "language=fr", std::fs::read(testdata("en.srt")).unwrap()).await;
    assert_eq!((status, error["error"].as_str()), (404, Some("movie_not_found")));

    // Removing takes the track out of the master, the catalog and the folder.
    assert_eq!(remove(&app, &movie, "subs-fr").await.0, 204);
    let (subtitles, entries, master) = state(&app, &movie).await;
    let names: Vec<&str> = subtitles.as_array().unwrap().iter().map(|s| s["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["subs-de", "subs-en", "subs-es", "subs-it"]);
    assert!(!entries.contains(&"subs-fr".to_owned()) && !master.contains("subs-fr"), "{entries:?} {master}");
    assert_eq!(remove(&app, &movie, "subs-fr").await.1["error"], "subtitle_track_not_found");
    assert_eq!(remove(&app, &movie, "240p").await.1["error"], "subtitle_track_not_found", "only subtitle tracks");

    let mut anonymous =
        app.client.post(app.url(&format!("/api/admin/movies/{movie}/subtitles"))).send_body("x").await.unwrap();
    assert_eq!(anonymous.status().as_u16(), 401);
    let _ = anonymous.body().await;
}

#[actix_web::test]
async fn a_change_waits_while_another_process_changes_the_movie_s_subtitles() {
    let app = TestApp::spawn().await;
    let movie = app.ingester().ingest(&crate::ingest::request(&clip(4, 426, 240, true)), &mut |_| {}).await.unwrap().id;
    // The CLI, say, is adding a track to this movie meanwhile.
    let lock = app.media_dir().join(&movie).join(cinemesh_catalog::subtitle_tracks::CHANGES_LOCK_FILE);
    let held = std::fs::OpenOptions::new().create(true).truncate(false).write(true).open(lock).unwrap();
    held.lock().unwrap();
    let adding = add(&app, &movie, "language=fr", std::fs::read(testdata("fr.srt")).unwrap());
    tokio::pin!(adding);
    let waited = tokio::time::timeout(std::time::Duration::from_millis(700), &mut adding).await;
    assert!(waited.is_err(), "the change went ahead during the other one: {waited:?}");
    drop(held);
    let (status, added) =
        tokio::time::timeout(std::time::Duration::from_secs(10), adding).await.expect("its turn came");
    assert_eq!(status, 201, "{added}");
    let (subtitles, _, master) = state(&app, &movie).await;
    assert!(subtitles.as_array().is_some_and(|s| s.iter().any(|t| t["name"] == added["name"])), "{subtitles}");
    assert!(master.contains(added["name"].as_str().unwrap()), "{master}");
}

#[actix_web::test]
async fn subtitle_files_given_at_ingest_become_tracks_and_a_bad_one_fails_the_ingest_whole() {
    let app = TestApp::spawn().await;
    let ingest = |subtitles: &[String]| {
        let mut cmd = app.cli();
        cmd.args(["ingest", "--title", "With subtitles"]).arg(clip(4, 426, 240, true));
        for subtitle in subtitles {
            cmd.args(["--subtitle", subtitle]);
        }
        cmd.output().unwrap()
    };
    let broken = app.media_dir().join("../broken.srt");
    std::fs::write(&broken, "1\n00:00:01,000 --> 00:00:02,000\nfine\n\n2\nnot a timing\nbroken\n").unwrap();
    let failed = ingest(&[format!("en={}", testdata("en.srt").display()), format!("fr={}", broken.display())]);
    let stderr = String::from_utf8_lossy(&failed.stderr);
    assert!(!failed.status.success());
    assert!(
        stderr.contains("subtitle file broken.srt: line 6: expected a cue's timing")
            && stderr.contains("(subtitle_malformed)"),
        "{stderr}"
    );
    app.assert_nothing_left().await;

    let done =
        ingest(&[format!("en={}", testdata("en.srt").display()), format!("fr={}", testdata("latin1.srt").display())]);
    let stdout = String::from_utf8_lossy(&done.stdout);
    assert!(done.status.success(), "{}", String::from_utf8_lossy(&done.stderr));
    assert!(stdout.contains("subtitles: English (en), Français (fr)\n"), "{stdout}");
    let id = stdout.trim().rsplit(' ').next().unwrap();
    let (_, detail) = app.get_json(&format!("/api/movies/{id}")).await;
    let french =
        detail["subtitles"].as_array().unwrap().iter().find(|s| s["language"] == "fr").cloned().unwrap_or_default();
    assert!(app.get_text(french["url"].as_str().unwrap()).await.contains("Café crème"));
}
