//! Catalog API: listing, search, pagination, details, the segment manifest,
//! and coded errors. Movies are written through the store (ingest has its own tests).

use crate::helpers::TestApp;

#[actix_web::test]
async fn empty_catalog_lists_nothing() {
    let app = TestApp::spawn().await;
    let (status, body) = app.get_json("/api/movies").await;
    assert_eq!(status, 200);
    assert_eq!(body["movies"].as_array().map(Vec::len), Some(0));
    assert_eq!(body["total"], 0);
}

#[actix_web::test]
async fn pages_split_the_catalog_newest_first() {
    let app = TestApp::spawn().await;
    for i in 0..25 {
        app.seed_movie(&format!("movie{i:02}"), &format!("Movie {i:02}"), "", 1000 + i).await;
    }
    let (status, first) = app.get_json("/api/movies?per_page=10").await;
    assert_eq!(status, 200);
    assert_eq!(first["total"], 25);
    assert_eq!(first["movies"][0]["id"], "movie24");
    assert_eq!(first["movies"].as_array().map(Vec::len), Some(10));
    let (_, third) = app.get_json("/api/movies?per_page=10&page=3").await;
    let ids: Vec<_> =
        third["movies"].as_array().unwrap().iter().map(|m| m["id"].as_str().unwrap().to_owned()).collect();
    assert_eq!(ids, ["movie04", "movie03", "movie02", "movie01", "movie00"]);
    let (_, beyond) = app.get_json("/api/movies?per_page=10&page=4").await;
    assert_eq!(beyond["movies"].as_array().map(Vec::len), Some(0));
    assert_eq!(beyond["total"], 25);
}

#[actix_web::test]
async fn search_matches_title_and_description_case_insensitively() {
    let app = TestApp::spawn().await;
    app.seed_movie("bunny", "Big Buck Bunny", "A giant rabbit", 1).await;
    app.seed_movie("sintel", "Sintel", "A girl searches for her baby DRAGON", 2).await;
    app.seed_movie("tears", "Tears of Steel", "Robots in Amsterdam", 3).await;
    let (_, by_title) = app.get_json("/api/movies?q=bUnNy").await;
    assert_eq!(by_title["total"], 1);
    assert_eq!(by_title["movies"][0]["id"], "bunny");
    let (_, by_description) = app.get_json("/api/movies?q=dragon").await;
    assert_eq!(by_description["movies"][0]["id"], "sintel");
    let (_, none) = app.get_json("/api/movies?q=zebra").await;
    assert_eq!(none["total"], 0);
}

#[actix_web::test]
async fn search_wildcards_match_only_themselves() {
    let app = TestApp::spawn().await;
    app.seed_movie("plain", "Plain title", "", 1).await;
    app.seed_movie("percent", "100% Real", "", 2).await;
    let (_, percent) = app.get_json("/api/movies?q=%25").await;
    assert_eq!(percent["total"], 1, "{percent}");
    assert_eq!(percent["movies"][0]["id"], "percent");
    let (_, underscore) = app.get_json("/api/movies?q=_").await;
    assert_eq!(underscore["total"], 0);
}

#[actix_web::test]
async fn details_give_renditions_and_every_url_a_player_needs() {
    let app = TestApp::spawn().await;
    app.seed_movie("bunny", "Big Buck Bunny", "A giant rabbit", 1).await;
    let (status, movie) = app.get_json("/api/movies/bunny").await;
    assert_eq!(status, 200);
    assert_eq!(movie["title"], "Big Buck Bunny");
    assert_eq!(movie["duration_ms"], 6000);
    assert_eq!(movie["master_playlist_url"], "/media/bunny/master.m3u8");
    assert_eq!(movie["poster_url"], "/media/bunny/poster.jpg");
    assert_eq!(movie["segment_manifest_url"], "/api/movies/bunny/segments");
    let names: Vec<_> = movie["renditions"].as_array().unwrap().iter().map(|r| r["name"].clone()).collect();
    assert_eq!(names, ["720p", "360p"], "best rendition first");
    assert_eq!(movie["renditions"][0]["playlist_url"], "/media/bunny/720p/index.m3u8");
}

#[actix_web::test]
async fn segment_manifest_lists_sizes_and_hashes_in_sequence() {
    let app = TestApp::spawn().await;
    app.seed_movie("bunny", "Big Buck Bunny", "", 1).await;
    let (status, manifest) = app.get_json("/api/movies/bunny/segments").await;
    assert_eq!(status, 200);
    assert_eq!(manifest["movie_id"], "bunny");
    let r = &manifest["renditions"][0];
    assert_eq!(r["sizes_bytes"], serde_json::json!([1000, 1001, 1002]));
    assert_eq!(r["durations_ms"], serde_json::json!([2000, 2000, 2000]));
    assert_eq!(r["sha256"][2], format!("{:064x}", 2));
}

#[actix_web::test]
async fn a_long_movie_keeps_every_segment_in_sequence() {
    let app = TestApp::spawn().await;
    // More rows than one statement could bind under SQLite's old 999-parameter limit.
    app.seed_movie_with_segments("longmovie", "Long", "", 1, 1200).await;
    let (status, manifest) = app.get_json("/api/movies/longmovie/segments").await;
    assert_eq!(status, 200, "{manifest}");
    for r in manifest["renditions"].as_array().unwrap() {
        let sizes: Vec<i64> = r["sizes_bytes"].as_array().unwrap().iter().map(|s| s.as_i64().unwrap()).collect();
        assert_eq!(sizes, (1000..2200).collect::<Vec<i64>>(), "{}", r["name"]);
    }
}

#[actix_web::test]
async fn bad_requests_get_stable_error_codes() {
    let app = TestApp::spawn().await;
    for (path, status, code) in [
        ("/api/movies?per_page=0", 400, "invalid_per_page"),
        ("/api/movies?per_page=101", 400, "invalid_per_page"),
        ("/api/movies?page=0", 400, "invalid_page"),
        ("/api/movies?page=abc", 400, "invalid_query_string"),
        ("/api/movies/nosuchmovie", 404, "movie_not_found"),
        ("/api/movies/NOT_AN_ID", 400, "invalid_movie_id"),
        ("/api/movies/nosuchmovie/segments", 404, "movie_not_found"),
        ("/api/nothing-here", 404, "no_route"),
    ] {
        let (got, body) = app.get_json(path).await;
        assert_eq!((got, body["error"].as_str()), (status, Some(code)), "{path}: {body}");
        assert!(body["message"].as_str().is_some_and(|m| !m.is_empty()), "{path} has a message");
    }
    let long_query = format!("/api/movies?q={}", "x".repeat(201));
    assert_eq!(app.get_json(&long_query).await.1["error"], "invalid_query");
}
