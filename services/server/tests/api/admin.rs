//! Admin API: uploads are ingested and deletes remove rows and files, behind
//! the bearer token; bad uploads are refused with codes and leave nothing.

use crate::helpers::{ADMIN_TOKEN, TestApp, clip};

async fn upload(app: &TestApp, query: &str, token: Option<&str>, body: Vec<u8>) -> (u16, serde_json::Value) {
    let mut req = app.client.post(app.url(&format!("/api/admin/movies?{query}&wait=true")));
    if let Some(token) = token {
        req = req.insert_header(("authorization", format!("Bearer {token}")));
    }
    let mut res = req.send_body(body).await.unwrap();
    let body = res.body().await.unwrap();
    (res.status().as_u16(), serde_json::from_slice(&body).unwrap_or_default())
}

#[actix_web::test]
async fn upload_ingests_and_delete_removes_rows_and_files() {
    let app = TestApp::spawn().await;
    let file = std::fs::read(clip(4, 426, 240, true)).unwrap();
    let (status, movie) =
        upload(&app, "title=Uploaded&year=1999&description=From%20a%20test", Some(ADMIN_TOKEN), file).await;
    assert_eq!(status, 201, "{movie}");
    assert_eq!((movie["title"].as_str(), movie["year"].as_i64()), (Some("Uploaded"), Some(1999)));
    assert_eq!(movie["renditions"].as_array().map(Vec::len), Some(2));
    let id = movie["id"].as_str().unwrap().to_owned();
    assert_eq!(app.get_json("/api/movies?q=uploaded").await.1["total"], 1);

    let res = app
        .client
        .delete(app.url(&format!("/api/admin/movies/{id}")))
        .insert_header(("authorization", format!("Bearer {ADMIN_TOKEN}")))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 204);
    assert_eq!(app.get_json(&format!("/api/movies/{id}")).await.0, 404);
    app.assert_nothing_left().await;
}

#[actix_web::test]
async fn admin_endpoints_need_the_token() {
    let app = TestApp::spawn().await;
    let (status, body) = upload(&app, "title=X", None, b"x".to_vec()).await;
    assert_eq!((status, body["error"].as_str()), (401, Some("unauthorized")));
    let (status, body) = upload(&app, "title=X", Some("wrong"), b"x".to_vec()).await;
    assert_eq!((status, body["error"].as_str()), (401, Some("unauthorized")));
    let res = app.client.delete(app.url("/api/admin/movies/abc")).send().await.unwrap();
    assert_eq!(res.status().as_u16(), 401);
}

#[actix_web::test]
async fn admin_api_is_disabled_without_a_configured_token() {
    let app = TestApp::spawn_with(|c| c.admin.token.clear()).await;
    let (status, body) = upload(&app, "title=X", Some(""), b"x".to_vec()).await;
    assert_eq!((status, body["error"].as_str()), (403, Some("admin_disabled")));
}

#[actix_web::test]
async fn bad_uploads_are_refused_with_codes_and_leave_nothing() {
    let app = TestApp::spawn_with(|c| c.admin.max_upload_mib = 1).await;
    let cases: [(&str, Vec<u8>, u16, &str); 5] = [
        ("title=X", b"not a movie at all".to_vec(), 422, "not_a_video"),
        ("title=X", Vec::new(), 400, "empty_upload"),
        ("title=X", vec![0u8; 1024 * 1024 + 1], 413, "upload_too_large"),
        ("title=%20%20", b"x".to_vec(), 400, "invalid_title"),
        ("year=2000", b"x".to_vec(), 400, "invalid_query_string"),
    ];
    for (query, body, status, code) in cases {
        let (got, answer) = upload(&app, query, Some(ADMIN_TOKEN), body).await;
        assert_eq!((got, answer["error"].as_str()), (status, Some(code)), "{query}: {answer}");
    }
    app.assert_nothing_left().await;
}

#[actix_web::test]
async fn deleting_an_unknown_movie_is_404() {
    let app = TestApp::spawn().await;
    let res = app
        .client
        .delete(app.url("/api/admin/movies/nosuchmovie"))
        .insert_header(("authorization", format!("Bearer {ADMIN_TOKEN}")))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 404);
}
