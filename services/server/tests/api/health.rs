//! Operations endpoints and the OpenAPI document.

use crate::helpers::TestApp;

#[actix_web::test]
async fn healthz_answers_ok() {
    let app = TestApp::spawn().await;
    let (status, body) = app.get_json("/healthz").await;
    assert_eq!((status, body["status"].as_str()), (200, Some("ok")));
}

#[actix_web::test]
async fn readyz_checks_the_database_and_says_redis_is_not_configured() {
    let app = TestApp::spawn().await;
    let (status, body) = app.get_json("/readyz").await;
    assert_eq!(status, 200);
    assert_eq!(body["database"], "ok");
    assert_eq!(body["redis"], "not_configured");
}

#[actix_web::test]
async fn readyz_reports_redis_when_configured() {
    let redis_url = std::env::var("CINEMESH_TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into());
    let app = TestApp::spawn_with(|c| c.storage.redis_url = redis_url.into()).await;
    let (status, body) = app.get_json("/readyz").await;
    assert_eq!((status, body["redis"].as_str()), (200, Some("ok")), "{body}");
}

#[actix_web::test]
async fn readyz_fails_when_redis_is_unreachable() {
    // Port 1 on loopback: nothing listens there.
    let app = TestApp::spawn_with(|c| c.storage.redis_url = "redis://127.0.0.1:1".into()).await;
    let (status, body) = app.get_json("/readyz").await;
    assert_eq!(
        (status, body["status"].as_str(), body["redis"].as_str()),
        (503, Some("unavailable"), Some("unavailable"))
    );
}

#[actix_web::test]
async fn metrics_are_prometheus_text() {
    let app = TestApp::spawn().await;
    std::fs::create_dir_all(app.media_dir().join("movie1")).unwrap();
    std::fs::write(app.media_dir().join("movie1/master.m3u8"), "#EXTM3U\n").unwrap();
    app.client.get(app.url("/media/movie1/master.m3u8")).send().await.unwrap();
    let mut res = app.client.get(app.url("/metrics")).send().await.unwrap();
    assert_eq!(res.status().as_u16(), 200);
    let body = String::from_utf8(res.body().await.unwrap().to_vec()).unwrap();
    assert!(body.contains("# TYPE cinemesh_segment_bytes_served counter"), "{body}");
    assert!(
        body.contains("cinemesh_segment_bytes_served_total{movie=\"movie1\",rendition=\"-\",kind=\"playlist\"} 8"),
        "{body}"
    );
    assert!(body.trim_end().ends_with("# EOF"));
}

/// Every operation in the document reaches a handler (no `no_route`, no 405),
/// and every route the server has is in the document.
#[actix_web::test]
async fn openapi_document_matches_the_routes() {
    let app = TestApp::spawn().await;
    let (status, doc) = app.get_json("/api/openapi.json").await;
    assert_eq!(status, 200);
    let paths = doc["paths"].as_object().expect("paths");
    let mut documented = Vec::new();
    for (path, operations) in paths {
        for method in operations.as_object().unwrap().keys() {
            documented.push(format!("{} {path}", method.to_uppercase()));
            let concrete = path.replace("{id}", "nosuchmovie");
            let req = match method.as_str() {
                "get" => app.client.get(app.url(&concrete)),
                "post" => app.client.post(app.url(&concrete)),
                "delete" => app.client.delete(app.url(&concrete)),
                "patch" => app.client.patch(app.url(&concrete)),
                "put" => app.client.put(app.url(&concrete)),
                "head" => app.client.head(app.url(&concrete)),
                "options" => app.client.options(app.url(&concrete)),
                other => panic!("unexpected method {other}"),
            };
            let mut res = req.send().await.unwrap();
            let body: serde_json::Value = serde_json::from_slice(&res.body().await.unwrap()).unwrap_or_default();
            assert_ne!(body["error"], "no_route", "{method} {path} is documented but not routed");
            assert_ne!(res.status().as_u16(), 405, "{method} {path}");
        }
    }
    documented.sort();
    let expected = [
        "DELETE /api/admin/jobs/{id}",
        "DELETE /api/admin/movies/{id}",
        "DELETE /api/admin/movies/{id}/subtitles/{name}",
        "DELETE /api/admin/session",
        "DELETE /api/admin/uploads/{id}",
        "GET /api/admin/jobs",
        "GET /api/admin/jobs/events",
        "GET /api/admin/jobs/{id}",
        "GET /api/admin/library",
        "GET /api/admin/offload/{id}",
        "GET /api/admin/session",
        "GET /api/catalog/status",
        "GET /api/movies",
        "GET /api/movies/{id}",
        "GET /api/movies/{id}/segments",
        "GET /api/openapi.json",
        "GET /api/rooms/{id}",
        "GET /healthz",
        "GET /metrics",
        "GET /readyz",
        "HEAD /api/admin/uploads/{id}",
        "OPTIONS /api/admin/uploads",
        "PATCH /api/admin/movies/{id}",
        "PATCH /api/admin/uploads/{id}",
        "POST /api/admin/movies",
        "POST /api/admin/movies/{id}/poster/frame",
        "POST /api/admin/movies/{id}/subtitles",
        "POST /api/admin/session",
        "POST /api/admin/uploads",
        "POST /api/rooms",
        "PUT /api/admin/movies/{id}/poster",
    ];
    assert_eq!(documented, expected);
}

#[actix_web::test]
async fn every_response_names_its_request_id() {
    let app = TestApp::spawn().await;
    let mut ids = Vec::new();
    for path in ["/healthz", "/healthz", "/api/movies/nope"] {
        let res = app.client.get(app.url(path)).send().await.unwrap();
        let id = res.headers().get("x-request-id").and_then(|v| v.to_str().ok()).map(str::to_owned);
        ids.push(id.unwrap_or_else(|| panic!("{path} answers with x-request-id")));
    }
    assert!(ids.iter().all(|id| id.len() == 12), "{ids:?}");
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 3, "one id per request");
}
