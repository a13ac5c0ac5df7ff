//! The segment server over HTTP: byte ranges, ETag/304, HEAD, cache and CORS
//! headers, path traversal refused (sent raw, as an attacker would), symlinks
//! out of the media folder refused, large files streamed intact, and bytes
//! counted per movie and rendition. Files are written straight into the media
//! folder so every byte is known.

use actix_web::http::header;

use crate::helpers::{TestApp, raw_get};

/// A deterministic, non-repeating byte pattern of `len` bytes.
fn pattern(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i as u32).wrapping_mul(2_654_435_761).to_be_bytes()[0]).collect()
}

fn write_media(app: &TestApp, relative: &str, bytes: &[u8]) {
    let path = app.media_dir().join(relative);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, bytes).unwrap();
}

const SEGMENT: &str = "/media/movie1/720p/seg_00000.ts";

async fn get(app: &TestApp, path: &str, headers: &[(&str, &str)]) -> (u16, awc::http::header::HeaderMap, Vec<u8>) {
    let mut req = app.client.get(app.url(path));
    for (k, v) in headers {
        req = req.insert_header((*k, *v));
    }
    let mut res = req.send().await.unwrap();
    let body = res.body().limit(64 * 1024 * 1024).await.unwrap().to_vec();
    (res.status().as_u16(), res.headers().clone(), body)
}

fn header_str(headers: &awc::http::header::HeaderMap, name: header::HeaderName) -> &str {
    headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or_default()
}

#[actix_web::test]
async fn whole_segment_is_served_with_immutable_caching_and_cors() {
    let app = TestApp::spawn().await;
    let bytes = pattern(200_000);
    write_media(&app, "movie1/720p/seg_00000.ts", &bytes);
    let (status, headers, body) = get(&app, SEGMENT, &[]).await;
    assert_eq!(status, 200);
    assert_eq!(body, bytes);
    assert_eq!(header_str(&headers, header::CONTENT_TYPE), "video/mp2t");
    assert_eq!(header_str(&headers, header::CACHE_CONTROL), "public, max-age=31536000, immutable");
    assert_eq!(header_str(&headers, header::ACCEPT_RANGES), "bytes");
    assert_eq!(header_str(&headers, header::ACCESS_CONTROL_ALLOW_ORIGIN), "*");
    assert!(header_str(&headers, header::ETAG).starts_with('"'), "strong ETag");
}

#[actix_web::test]
async fn playlists_are_cached_briefly() {
    let app = TestApp::spawn().await;
    write_media(&app, "movie1/master.m3u8", b"#EXTM3U\n");
    let (status, headers, _) = get(&app, "/media/movie1/master.m3u8", &[]).await;
    assert_eq!(status, 200);
    assert_eq!(header_str(&headers, header::CONTENT_TYPE), "application/vnd.apple.mpegurl");
    assert_eq!(header_str(&headers, header::CACHE_CONTROL), "public, max-age=300");
}

#[actix_web::test]
async fn ranges_return_exactly_the_bytes_asked_for() {
    let app = TestApp::spawn().await;
    let bytes = pattern(200_000);
    write_media(&app, "movie1/720p/seg_00000.ts", &bytes);
    for (range, first, last) in [
        ("bytes=0-99", 0, 99),
        ("bytes=100000-100999", 100_000, 100_999),
        ("bytes=-500", 199_500, 199_999),
        ("bytes=199990-", 199_990, 199_999),
        ("bytes=199000-999999", 199_000, 199_999),
    ] {
        let (status, headers, body) = get(&app, SEGMENT, &[("range", range)]).await;
        assert_eq!(status, 206, "{range}");
        assert_eq!(header_str(&headers, header::CONTENT_RANGE), format!("bytes {first}-{last}/200000"), "{range}");
        assert_eq!(body, &bytes[first..=last], "{range}");
    }
}

#[actix_web::test]
async fn unsatisfiable_range_is_416_with_the_size() {
    let app = TestApp::spawn().await;
    write_media(&app, "movie1/720p/seg_00000.ts", &pattern(1000));
    let (status, headers, body) = get(&app, SEGMENT, &[("range", "bytes=5000-6000")]).await;
    assert_eq!(status, 416);
    assert_eq!(header_str(&headers, header::CONTENT_RANGE), "bytes */1000");
    let body: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(body["error"], "range_not_satisfiable");
}

#[actix_web::test]
async fn matching_etag_gives_304_without_a_body() {
    let app = TestApp::spawn().await;
    write_media(&app, "movie1/720p/seg_00000.ts", &pattern(5000));
    let (_, headers, _) = get(&app, SEGMENT, &[]).await;
    let etag = header_str(&headers, header::ETAG).to_owned();
    let (status, headers, body) = get(&app, SEGMENT, &[("if-none-match", &etag)]).await;
    assert_eq!(status, 304);
    assert!(body.is_empty());
    assert_eq!(header_str(&headers, header::ETAG), etag);
    let (status, _, body) = get(&app, SEGMENT, &[("if-none-match", "\"something-else\"")]).await;
    assert_eq!((status, body.len()), (200, 5000));
}

#[actix_web::test]
async fn if_range_with_another_etag_sends_the_whole_file() {
    let app = TestApp::spawn().await;
    write_media(&app, "movie1/720p/seg_00000.ts", &pattern(5000));
    let (status, _, body) = get(&app, SEGMENT, &[("range", "bytes=0-9"), ("if-range", "\"stale\"")]).await;
    assert_eq!((status, body.len()), (200, 5000));
}

#[actix_web::test]
async fn head_gives_the_length_and_no_body() {
    let app = TestApp::spawn().await;
    write_media(&app, "movie1/720p/seg_00000.ts", &pattern(12_345));
    let mut res = app.client.head(app.url(SEGMENT)).send().await.unwrap();
    assert_eq!(res.status().as_u16(), 200);
    assert_eq!(header_str(res.headers(), header::CONTENT_LENGTH), "12345");
    assert!(res.body().await.unwrap().is_empty());
    let mut res = app.client.head(app.url(SEGMENT)).insert_header(("range", "bytes=10-19")).send().await.unwrap();
    assert_eq!(res.status().as_u16(), 206);
    assert_eq!(header_str(res.headers(), header::CONTENT_LENGTH), "10");
    assert!(res.body().await.unwrap().is_empty());
}

#[actix_web::test]
async fn large_files_stream_intact() {
    let app = TestApp::spawn().await;
    let bytes = pattern(9 * 1024 * 1024 + 17);
    write_media(&app, "movie1/720p/seg_00000.ts", &bytes);
    let (status, _, body) = get(&app, SEGMENT, &[]).await;
    assert_eq!(status, 200);
    assert!(body == bytes, "9 MiB body differs");
}

#[actix_web::test]
async fn traversal_attempts_are_refused() {
    let app = TestApp::spawn().await;
    // A secret next to the media folder, and one at a well-known absolute path.
    std::fs::write(app.config.storage.data_dir.join("secret.ts"), b"TOP-SECRET").unwrap();
    std::fs::write(app.config.storage.data_dir.join("cinemesh.ts"), b"TOP-SECRET").unwrap();
    write_media(&app, "movie1/720p/seg_00000.ts", b"fine");
    let variants = [
        "/media/../secret.ts",
        "/media/movie1/../../secret.ts",
        "/media/%2e%2e/secret.ts",
        "/media/%2E%2E/%2E%2E/etc/passwd",
        "/media/movie1/%2e%2e/%2e%2e/secret.ts",
        "/media/%252e%252e/secret.ts",
        "/media/..%2fsecret.ts",
        "/media/..%252fsecret.ts",
        "/media/..%5csecret.ts",
        "/media/movie1\\..\\..\\secret.ts",
        "/media/%2fetc%2fpasswd",
        "/media//etc/passwd",
        "/media/movie1/720p/..%00/secret.ts",
        "/media/%c0%ae%c0%ae/secret.ts",
        "/media/.staging/secret.ts",
        "/media/~/secret.ts",
    ];
    for path in variants {
        let (status, response) = raw_get(&app.address, path).await;
        assert!(status == 400 || status == 404, "{path} answered {status}: {response:?}");
        assert!(!response.contains("TOP-SECRET") && !response.contains("root:"), "{path} leaked a file");
    }
    assert_eq!(raw_get(&app.address, SEGMENT).await.0, 200, "the legitimate path still works");
}

#[actix_web::test]
async fn symlinks_out_of_the_media_folder_are_not_followed() {
    let app = TestApp::spawn().await;
    let outside = tempfile::tempdir().unwrap();
    std::fs::write(outside.path().join("seg_00000.ts"), b"TOP-SECRET").unwrap();
    std::fs::create_dir_all(app.media_dir().join("movie1")).unwrap();
    std::os::unix::fs::symlink(outside.path(), app.media_dir().join("movie1/720p")).unwrap();
    let (status, _, body) = get(&app, SEGMENT, &[]).await;
    assert_eq!(status, 404);
    assert!(!String::from_utf8_lossy(&body).contains("TOP-SECRET"));
}

#[actix_web::test]
async fn unknown_files_and_types_are_404() {
    let app = TestApp::spawn().await;
    write_media(&app, "movie1/notes.exe", b"x");
    for path in ["/media/movie1/720p/seg_99999.ts", "/media/movie1/notes.exe", "/media/nothing/master.m3u8"] {
        let (status, _, body) = get(&app, path, &[]).await;
        let body: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!((status, body["error"].as_str()), (404, Some("media_not_found")), "{path}");
    }
}

#[actix_web::test]
async fn bytes_served_are_counted_per_movie_and_rendition() {
    let app = TestApp::spawn().await;
    write_media(&app, "movie1/720p/seg_00000.ts", &pattern(10_000));
    write_media(&app, "movie1/360p/seg_00000.ts", &pattern(3_000));
    write_media(&app, "movie1/master.m3u8", b"#EXTM3U\n");
    write_media(&app, "movie1/720p/index.m3u8", b"#EXTM3U\n#EXT-X-ENDLIST\n");
    get(&app, SEGMENT, &[]).await;
    get(&app, "/media/movie1/720p/index.m3u8", &[]).await;
    get(&app, SEGMENT, &[("range", "bytes=0-99")]).await;
    get(&app, "/media/movie1/360p/seg_00000.ts", &[]).await;
    get(&app, "/media/movie1/master.m3u8", &[]).await;
    let _ = app.client.head(app.url(SEGMENT)).send().await.unwrap();
    assert_eq!(app.served_bytes("movie1", "720p", "segment").await, 10_100, "HEAD sends no body bytes");
    assert_eq!(app.served_bytes("movie1", "720p", "playlist").await, 23, "playlists are counted apart");
    assert_eq!(app.served_bytes("movie1", "360p", "segment").await, 3_000);
    assert_eq!(app.served_bytes("movie1", "-", "playlist").await, 8);
}

#[actix_web::test]
async fn cors_preflight_allows_range_requests() {
    let app = TestApp::spawn().await;
    let res = app
        .client
        .request(awc::http::Method::OPTIONS, app.url(SEGMENT))
        .insert_header(("origin", "http://elsewhere.example"))
        .insert_header(("access-control-request-headers", "range"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 204);
    assert!(header_str(res.headers(), header::ACCESS_CONTROL_ALLOW_HEADERS).contains("range"));
}

#[actix_web::test]
async fn other_methods_on_media_are_refused_with_a_code() {
    let app = TestApp::spawn().await;
    write_media(&app, "movie1/720p/seg_00000.ts", b"x");
    let mut res = app.client.post(app.url(SEGMENT)).send().await.unwrap();
    let body: serde_json::Value = serde_json::from_slice(&res.body().await.unwrap()).unwrap();
    assert_eq!((res.status().as_u16(), body["error"].as_str()), (405, Some("method_not_allowed")));
}

#[actix_web::test]
async fn concurrent_downloads_each_get_their_own_bytes() {
    // Read buffers are reused per worker thread: concurrent responses of
    // different files must never see each other's bytes.
    let app = TestApp::spawn().await;
    let files: Vec<Vec<u8>> =
        (0..6u8).map(|i| pattern(300_000 + i as usize * 77_777).into_iter().map(|b| b ^ i).collect()).collect();
    for (i, bytes) in files.iter().enumerate() {
        write_media(&app, &format!("movie1/720p/seg_{i:05}.ts"), bytes);
    }
    let requests = (0..24).map(|n| {
        let i = n % files.len();
        let url = app.url(&format!("/media/movie1/720p/seg_{i:05}.ts"));
        let client = app.client.clone();
        async move {
            let mut res = client.get(url).send().await.unwrap();
            (i, res.body().limit(64 * 1024 * 1024).await.unwrap())
        }
    });
    for (i, body) in futures_util::future::join_all(requests).await {
        assert!(body == files[i], "file {i} came back different");
    }
}
