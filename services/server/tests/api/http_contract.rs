//! The HTTP contract the OpenAPI description promises, where the framework's
//! defaults would differ:
//! - a plain request to a WebSocket endpoint gets 426 with `Upgrade` and a
//!   coded body;
//! - a method a resource does not serve gets 405 with `Allow`, not 404;
//! - the admin token is checked before anything else about the request;
//! - the bearer scheme is case-insensitive.

use serde_json::{Value, json};

use crate::helpers::{ADMIN_TOKEN, TestApp, raw_get};

async fn status_and_body(mut response: awc::ClientResponse) -> (u16, Value) {
    let body = response.body().await.unwrap_or_default();
    (response.status().as_u16(), serde_json::from_slice(&body).unwrap_or(Value::Null))
}

#[actix_web::test]
async fn websocket_endpoints_answer_plain_requests_with_426() {
    let app = TestApp::spawn().await;
    app.seed_movie_with_segments("movie1", "Movie One", "", 1, 3).await;
    let (_, room) = app.post_json("/api/rooms", &json!({ "movie_id": "movie1" })).await;
    let room_socket = format!("/api/rooms/{}/socket", room["id"].as_str().unwrap());
    for path in ["/tracker", "/announce", "/api/lobby/socket", room_socket.as_str()] {
        // Over a raw socket: with `Upgrade` in the answer, HTTP clients hand the connection over unread.
        let (status, response) = raw_get(&app.address, path).await;
        assert_eq!(status, 426, "{path}: {response}");
        assert!(response.to_lowercase().contains("\r\nupgrade: websocket\r\n"), "{path}: {response}");
        assert!(response.contains(r#"{"error":"upgrade_required""#), "{path}: {response}");
    }
}

#[actix_web::test]
async fn a_method_a_resource_does_not_serve_gets_405_with_allow() {
    let app = TestApp::spawn().await;
    for (method, path, allowed) in [
        ("POST", "/api/movies", "GET"),
        ("DELETE", "/api/rooms", "POST"),
        ("PUT", "/api/rooms/abc", "GET"),
        ("GET", "/api/admin/movies", "POST"),
        ("POST", "/healthz", "GET"),
    ] {
        let method = actix_web::http::Method::from_bytes(method.as_bytes()).unwrap();
        let response = app.client.request(method.clone(), app.url(path)).send().await.unwrap();
        let allow = response.headers().get("allow").and_then(|v| v.to_str().ok()).map(str::to_owned);
        let (status, body) = status_and_body(response).await;
        assert_eq!((status, body["error"].as_str()), (405, Some("method_not_allowed")), "{method} {path}");
        assert_eq!(allow.as_deref(), Some(allowed), "{method} {path}");
    }
}

#[actix_web::test]
async fn the_admin_token_is_checked_first_and_its_scheme_is_case_insensitive() {
    let app = TestApp::spawn().await;
    app.seed_movie_with_segments("movie1", "Movie One", "", 1, 3).await;
    // No title in the query and no token: the answer is about the token.
    let response = app.client.post(app.url("/api/admin/movies")).send_body("x").await.unwrap();
    let (status, body) = status_and_body(response).await;
    assert_eq!((status, body["error"].as_str()), (401, Some("unauthorized")));
    let bad_id = app.client.delete(app.url("/api/admin/movies/..")).send().await.unwrap();
    assert_eq!(status_and_body(bad_id).await.0, 401, "nor about the path");

    for scheme in ["bearer", "BEARER", "Bearer"] {
        let response = app
            .client
            .get(app.url("/api/admin/offload/movie1"))
            .insert_header(("authorization", format!("{scheme} {ADMIN_TOKEN}")))
            .send()
            .await
            .unwrap();
        assert_eq!(status_and_body(response).await.0, 200, "{scheme}");
    }
}
