//! The admin library and movie edits. Properties proved:
//! - the library lists each movie's size (its segments' bytes), renditions,
//!   viewers now and bytes served, and searches and sorts by them;
//! - an edit changes only what it names, is checked as an upload is, and the
//!   public catalog shows it;
//! - a poster is replaced from an uploaded image or one of the movie's own
//!   frames, under a new URL; a wrong type or an unreadable image is refused
//!   and leaves the old poster and no stray file.

use serde_json::{Value, json};

use crate::helpers::{ADMIN_TOKEN, TestApp, admin_json, clip, files_under};

async fn admin(app: &TestApp, method: &str, path: &str, body: Option<Value>) -> (u16, Value) {
    admin_json(app, method, path, body).await
}

fn ids(page: &Value) -> Vec<&str> {
    page["movies"].as_array().unwrap().iter().map(|m| m["id"].as_str().unwrap()).collect()
}

#[actix_web::test]
async fn the_library_lists_sizes_and_tracks_and_sorts_by_them() {
    let app = TestApp::spawn().await;
    app.seed_movie_with_segments("small", "Beta", "", 3, 2).await;
    app.seed_movie_with_segments("large", "alpha", "", 2, 5).await;
    app.seed_movie_with_segments("medium", "Gamma", "a searchable line", 1, 3).await;

    let (status, page) = admin(&app, "GET", "/api/admin/library", None).await;
    assert_eq!(status, 200, "{page}");
    assert_eq!(ids(&page), ["small", "large", "medium"], "newest first by default");
    let large = &page["movies"][1];
    // Two renditions of five segments of 1000..1004 bytes.
    assert_eq!(large["size_bytes"], 2 * (1000 + 1001 + 1002 + 1003 + 1004));
    assert_eq!(large["renditions"], json!(["720p", "360p"]));
    assert_eq!((large["viewers_now"].as_i64(), large["http_bytes"].as_i64()), (Some(0), Some(0)));

    let sorted = |query: &'static str| {
        let app = &app;
        async move { ids(&admin(app, "GET", &format!("/api/admin/library?{query}"), None).await.1).join(",") }
    };
    assert_eq!(sorted("sort=size").await, "large,medium,small");
    assert_eq!(sorted("sort=size&order=asc").await, "small,medium,large");
    assert_eq!(sorted("sort=title").await, "large,small,medium", "A to Z, whatever the case");
    assert_eq!(sorted("q=searchable").await, "medium");
    assert_eq!(sorted("per_page=1&page=2").await, "large");

    let (status, refused) = admin(&app, "GET", "/api/admin/library?sort=password", None).await;
    assert_eq!((status, refused["error"].as_str()), (400, Some("invalid_query_string")));
    let (status, refused) = admin(&app, "GET", "/api/admin/library?order=sideways", None).await;
    assert_eq!((status, refused["error"].as_str()), (400, Some("invalid_order")));
}

#[actix_web::test]
async fn an_edit_changes_what_it_names_and_the_catalog_shows_it() {
    let app = TestApp::spawn().await;
    app.seed_movie("m1", "Old", "Kept description", 1).await;

    let (status, movie) = admin(&app, "PATCH", "/api/admin/movies/m1", Some(json!({ "title": "  New  " }))).await;
    assert_eq!((status, movie["title"].as_str()), (200, Some("New")), "{movie}");
    let (_, public) = app.get_json("/api/movies/m1").await;
    assert_eq!((public["title"].as_str(), public["year"].as_i64()), (Some("New"), Some(2001)));
    assert_eq!(public["description"], "Kept description");

    let (status, cleared) = admin(&app, "PATCH", "/api/admin/movies/m1", Some(json!({ "year": null }))).await;
    assert_eq!((status, cleared["year"].clone()), (200, Value::Null));

    for (edit, code) in [
        (json!({ "title": "" }), "invalid_title"),
        (json!({ "year": 12 }), "invalid_year"),
        (json!({ "description": "x".repeat(4001) }), "invalid_description"),
        (json!({ "poster": "x" }), "invalid_json"),
    ] {
        let (status, refused) = admin(&app, "PATCH", "/api/admin/movies/m1", Some(edit)).await;
        assert_eq!((status, refused["error"].as_str()), (400, Some(code)));
    }
    let (status, missing) = admin(&app, "PATCH", "/api/admin/movies/nope", Some(json!({ "title": "X" }))).await;
    assert_eq!((status, missing["error"].as_str()), (404, Some("movie_not_found")));
    assert_eq!(app.get_json("/api/movies/m1").await.1["title"], "New", "refused edits changed nothing");
}

#[actix_web::test]
async fn a_poster_is_replaced_from_an_image_or_a_frame_under_a_new_url() {
    let app = TestApp::spawn().await;
    let source = std::fs::read(clip(4, 426, 240, true)).unwrap();
    let (status, movie) = crate::helpers::upload_movie(&app, "Posters", source).await;
    assert_eq!(status, 201, "{movie}");
    let id = movie["id"].as_str().unwrap().to_owned();
    let poster = app.media_dir().join(&id).join("poster.jpg");
    let first = std::fs::read(&poster).unwrap();
    let files_before = files_under(&app.media_dir()).len();

    let image = tempfile::tempdir().unwrap();
    let png = image.path().join("red.png");
    let made = std::process::Command::new("ffmpeg")
        .args(["-loglevel", "error", "-f", "lavfi", "-i", "color=red:s=1280x720", "-frames:v", "1"])
        .arg(&png)
        .status()
        .unwrap();
    assert!(made.success());
    let put = |content_type: &'static str, body: Vec<u8>| {
        let app = &app;
        let id = id.clone();
        async move {
            let mut res = app
                .client
                .put(app.url(&format!("/api/admin/movies/{id}/poster")))
                .insert_header(("authorization", format!("Bearer {ADMIN_TOKEN}")))
                .insert_header(("content-type", content_type))
                .send_body(body)
                .await
                .unwrap();
            let body: Value = serde_json::from_slice(&res.body().await.unwrap()).unwrap_or_default();
            (res.status().as_u16(), body)
        }
    };

    let (status, refused) = put("text/plain", b"hello".to_vec()).await;
    assert_eq!((status, refused["error"].as_str()), (415, Some("unsupported_image")));
    let (status, refused) = put("image/png", b"not a png at all".to_vec()).await;
    assert_eq!((status, refused["error"].as_str()), (422, Some("image_unreadable")), "{refused}");
    let (status, refused) = put("image/png", vec![0; 5 * 1024 * 1024 + 1]).await;
    assert_eq!((status, refused["error"].as_str()), (413, Some("upload_too_large")));
    assert_eq!(std::fs::read(&poster).unwrap(), first, "refused images left the poster as it was");
    assert_eq!(files_under(&app.media_dir()).len(), files_before, "and no stray file");

    let (status, replaced) = put("image/png", std::fs::read(&png).unwrap()).await;
    assert_eq!(status, 200, "{replaced}");
    assert_eq!(replaced["poster_url"], format!("/media/{id}/poster.jpg?v=1"));
    let from_image = std::fs::read(&poster).unwrap();
    assert_ne!(from_image, first);
    assert_eq!(jpeg_height(&poster), 360, "re-encoded at most 360 pixels tall");
    let (_, listed) = app.get_json("/api/movies").await;
    assert_eq!(listed["movies"][0]["poster_url"], format!("/media/{id}/poster.jpg?v=1"));
    let res = app.client.get(app.url(&format!("/media/{id}/poster.jpg?v=1"))).send().await.unwrap();
    assert_eq!(res.status().as_u16(), 200, "the versioned URL serves the file");

    let frame = format!("/api/admin/movies/{id}/poster/frame");
    let past_the_end = json!({ "at_ms": movie["duration_ms"] });
    let (status, refused) = admin(&app, "POST", &frame, Some(past_the_end)).await;
    assert_eq!((status, refused["error"].as_str()), (400, Some("invalid_position")));
    let (status, framed) = admin(&app, "POST", &frame, Some(json!({ "at_ms": 2500 }))).await;
    assert_eq!((status, framed["poster_url"].as_str()), (200, Some(&*format!("/media/{id}/poster.jpg?v=2"))));
    assert_ne!(std::fs::read(&poster).unwrap(), from_image);
    assert_eq!(jpeg_height(&poster), 240, "a frame of the best rendition, not enlarged");
    assert_eq!(files_under(&app.media_dir()).len(), files_before);
}

fn jpeg_height(path: &std::path::Path) -> u32 {
    let out = std::process::Command::new("ffprobe")
        .args(["-v", "error", "-show_entries", "stream=height", "-of", "csv=p=0"])
        .arg(path)
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout).trim().parse().unwrap()
}
