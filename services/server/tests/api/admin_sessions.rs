//! Admin sign-in from a browser. Properties proved:
//! - the admin token or a user's password (argon2, added with the CLI) opens
//!   a session carried by an HttpOnly, SameSite=Strict cookie scoped to the
//!   admin API; a wrong one is refused, and an address that keeps trying is
//!   slowed down;
//! - with the cookie, reading needs nothing more, but a change needs the
//!   session's CSRF token and must not come from another site's page;
//! - signing out, a new password, removing the user or (for a session the
//!   token opened) another token ends the session, and the job event stream
//!   opened with it;
//! - guesses at the bearer token are limited like failed sign-ins;
//! - without the token, a cookie or a user, the admin API is refused.

use std::io::Write;
use std::process::Stdio;

use awc::http::header::HeaderMap;
use serde_json::{Value, json};

use crate::helpers::{ADMIN_TOKEN, TestApp};

/// A browser's cookie and CSRF token after signing in.
struct Browser {
    cookie: String,
    csrf: String,
}

async fn sign_in(app: &TestApp, body: Value) -> (u16, Value, HeaderMap) {
    let mut res = app.client.post(app.url("/api/admin/session")).send_json(&body).await.unwrap();
    let headers = res.headers().clone();
    let body = res.body().await.unwrap();
    (res.status().as_u16(), serde_json::from_slice(&body).unwrap_or_default(), headers)
}

async fn signed_in(app: &TestApp, body: Value) -> Browser {
    let (status, session, headers) = sign_in(app, body).await;
    assert_eq!(status, 200, "{session}");
    let set_cookie = headers.get("set-cookie").unwrap().to_str().unwrap();
    let cookie = set_cookie.split(';').next().unwrap().to_owned();
    Browser { cookie, csrf: session["csrf_token"].as_str().unwrap().to_owned() }
}

/// A request as the admin page makes it: the cookie, and the CSRF token
/// when `csrf` says so.
async fn send(
    app: &TestApp,
    method: &str,
    path: &str,
    browser: &Browser,
    headers: &[(&str, &str)],
    body: Option<Value>,
) -> (u16, Value) {
    let mut req =
        app.client.request(method.parse().unwrap(), app.url(path)).insert_header(("cookie", browser.cookie.as_str()));
    for (name, value) in headers {
        req = req.insert_header((*name, *value));
    }
    let mut res = match body {
        Some(body) => req.send_json(&body).await.unwrap(),
        None => req.send().await.unwrap(),
    };
    let bytes = res.body().await.unwrap();
    (res.status().as_u16(), serde_json::from_slice(&bytes).unwrap_or_default())
}

fn add_user(app: &TestApp, name: &str, password: &str) -> std::process::Output {
    let mut child = app
        .cli()
        .args(["admin-user", "add", name])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(format!("{password}\n").as_bytes()).unwrap();
    child.wait_with_output().unwrap()
}

#[actix_web::test]
async fn the_token_opens_a_session_in_an_http_only_strict_cookie() {
    let app = TestApp::spawn().await;
    let (status, session, headers) = sign_in(&app, json!({ "token": ADMIN_TOKEN })).await;
    assert_eq!(status, 200, "{session}");
    assert_eq!(session["user"], "(admin token)");
    let set_cookie = headers.get("set-cookie").unwrap().to_str().unwrap();
    for attribute in ["HttpOnly", "SameSite=Strict", "Path=/api/admin", "Max-Age=43200"] {
        assert!(set_cookie.contains(attribute), "{set_cookie} lacks {attribute}");
    }
    assert!(!set_cookie.contains(ADMIN_TOKEN), "the cookie is not the token");
    assert_eq!(headers.get("cache-control").unwrap(), "no-store");

    let browser = signed_in(&app, json!({ "token": ADMIN_TOKEN })).await;
    let (status, page) = send(&app, "GET", "/api/admin/library", &browser, &[], None).await;
    assert_eq!((status, page["total"].as_i64()), (200, Some(0)), "{page}");
    let (status, again) = send(&app, "GET", "/api/admin/session", &browser, &[], None).await;
    assert_eq!((status, again["csrf_token"].as_str()), (200, Some(browser.csrf.as_str())));

    let (status, refused) = app.get_json("/api/admin/library").await;
    assert_eq!((status, refused["error"].as_str()), (401, Some("unauthorized")));
    let forged = Browser { cookie: "cinemesh_admin=guessed".into(), csrf: String::new() };
    let (status, refused) = send(&app, "GET", "/api/admin/library", &forged, &[], None).await;
    assert_eq!((status, refused["error"].as_str()), (401, Some("session_expired")));
    let (status, refused, _) = sign_in(&app, json!({ "token": "wrong" })).await;
    assert_eq!((status, refused["error"].as_str()), (401, Some("sign_in_failed")));
    let (status, refused, _) = sign_in(&app, json!({ "token": ADMIN_TOKEN, "user": "x" })).await;
    assert_eq!((status, refused["error"].as_str()), (400, Some("invalid_json")), "one way or the other, not both");
}

#[actix_web::test]
async fn a_change_needs_the_csrf_token_and_our_own_origin() {
    let app = TestApp::spawn().await;
    app.seed_movie("m1", "Old title", "", 1).await;
    let browser = signed_in(&app, json!({ "token": ADMIN_TOKEN })).await;
    let edit = || Some(json!({ "title": "New title" }));
    let csrf = ("x-csrf-token", browser.csrf.as_str());

    for (headers, why) in [
        (vec![], "no token"),
        (vec![("x-csrf-token", "not-the-token")], "a wrong token"),
        (vec![csrf, ("origin", "http://evil.example")], "another site's origin"),
        (vec![csrf, ("sec-fetch-site", "cross-site")], "a cross-site fetch"),
    ] {
        let (status, refused) = send(&app, "PATCH", "/api/admin/movies/m1", &browser, &headers, edit()).await;
        assert_eq!((status, refused["error"].as_str()), (403, Some("csrf_failed")), "{why}");
    }
    assert_eq!(app.get_json("/api/movies/m1").await.1["title"], "Old title", "nothing changed");

    let own_origin = app.address.clone();
    let (status, movie) =
        send(&app, "PATCH", "/api/admin/movies/m1", &browser, &[csrf, ("origin", &own_origin)], edit()).await;
    assert_eq!((status, movie["title"].as_str()), (200, Some("New title")), "{movie}");
    assert_eq!(app.get_json("/api/movies?q=new").await.1["total"], 1);

    // A page of another site cannot sign the browser in to an account of its choosing.
    let mut res = app
        .client
        .post(app.url("/api/admin/session"))
        .insert_header(("origin", "http://evil.example"))
        .send_json(&json!({ "token": ADMIN_TOKEN }))
        .await
        .unwrap();
    let body: Value = serde_json::from_slice(&res.body().await.unwrap()).unwrap();
    assert_eq!((res.status().as_u16(), body["error"].as_str()), (403, Some("csrf_failed")));
}

#[actix_web::test]
async fn users_sign_in_with_their_password_and_guessers_are_slowed_down() {
    let app = TestApp::spawn_with(|c| c.admin.token.clear()).await;
    let (status, disabled) = app.get_json("/api/admin/library").await;
    assert_eq!((status, disabled["error"].as_str()), (403, Some("admin_disabled")), "no token and no user");

    let weak = add_user(&app, "ana", "short");
    assert!(!weak.status.success());
    assert!(String::from_utf8_lossy(&weak.stderr).contains("at least 12 characters"));
    let added = add_user(&app, "ana", "a long enough passphrase");
    assert!(added.status.success(), "{}", String::from_utf8_lossy(&added.stderr));

    let (status, unauthorized) = app.get_json("/api/admin/library").await;
    assert_eq!((status, unauthorized["error"].as_str()), (401, Some("unauthorized")), "a user exists now");
    let browser = signed_in(&app, json!({ "user": "ana", "password": "a long enough passphrase" })).await;
    let (status, session) = send(&app, "GET", "/api/admin/session", &browser, &[], None).await;
    assert_eq!((status, session["user"].as_str()), (200, Some("ana")));

    // A new password signs the user's browsers out.
    assert!(add_user(&app, "ana", "another long passphrase").status.success());
    let (status, ended) = send(&app, "GET", "/api/admin/session", &browser, &[], None).await;
    assert_eq!((status, ended["error"].as_str()), (401, Some("session_expired")));

    let mut codes = Vec::new();
    for password in ["a long enough passphrase", "guess 1", "guess 2"] {
        codes.push(sign_in(&app, json!({ "user": "ana", "password": password })).await.1["error"].clone());
    }
    codes.push(sign_in(&app, json!({ "user": "nobody", "password": "x" })).await.1["error"].clone());
    assert!(codes.iter().all(|c| c == "sign_in_failed"), "{codes:?}");
    let mut limited = 0;
    for _ in 0..10 {
        let (status, body, _) = sign_in(&app, json!({ "user": "ana", "password": "guess" })).await;
        if status == 429 {
            assert_eq!(body["error"], "too_many_attempts");
            limited += 1;
        }
    }
    assert!(limited >= 3, "ten attempts a burst, then one every 6 s: {limited} of the last 10 were refused");

    let removed = app.cli().args(["admin-user", "remove", "ana"]).output().unwrap();
    assert!(removed.status.success(), "{}", String::from_utf8_lossy(&removed.stderr));
    let listed = app.cli().args(["admin-user", "list"]).output().unwrap();
    assert_eq!(String::from_utf8_lossy(&listed.stdout), "");
}

#[actix_web::test]
async fn signing_out_ends_the_session_and_clears_the_cookie() {
    let app = TestApp::spawn().await;
    let browser = signed_in(&app, json!({ "token": ADMIN_TOKEN })).await;
    let mut res = app
        .client
        .delete(app.url("/api/admin/session"))
        .insert_header(("cookie", browser.cookie.as_str()))
        .insert_header(("x-csrf-token", browser.csrf.as_str()))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 204, "{:?}", res.body().await);
    assert!(res.headers().get("set-cookie").unwrap().to_str().unwrap().contains("Max-Age=0"));
    let (status, ended) = send(&app, "GET", "/api/admin/library", &browser, &[], None).await;
    assert_eq!((status, ended["error"].as_str()), (401, Some("session_expired")));
}

#[actix_web::test]
async fn guesses_at_the_bearer_token_are_limited_like_sign_ins() {
    let app = TestApp::spawn().await;
    let mut codes = Vec::new();
    for _ in 0..12 {
        let res = app.client.get(app.url("/api/admin/library")).insert_header(("authorization", "Bearer guess")).send();
        codes.push(res.await.unwrap().status().as_u16());
    }
    assert_eq!(codes, [[401; 10].as_slice(), &[429, 429]].concat());
    // While the address is limited, even the right token waits.
    let res =
        app.client.get(app.url("/api/admin/library")).insert_header(("authorization", format!("Bearer {ADMIN_TOKEN}")));
    assert_eq!(res.send().await.unwrap().status().as_u16(), 429);
}

#[actix_web::test]
async fn another_admin_token_ends_the_sessions_the_old_one_opened() {
    let first = TestApp::spawn().await;
    first.seed_movie("m1", "A movie", "", 1).await;
    let browser = signed_in(&first, json!({ "token": ADMIN_TOKEN })).await;
    assert_eq!(send(&first, "GET", "/api/admin/library", &browser, &[], None).await.0, 200);
    // An instance on the same database, configured with a new token.
    let storage = first.config.storage.clone();
    let second = TestApp::spawn_with(move |c| {
        c.storage = storage;
        c.admin.token = "a-new-admin-token".into();
    })
    .await;
    let (status, ended) = send(&second, "GET", "/api/admin/library", &browser, &[], None).await;
    assert_eq!((status, ended["error"].as_str()), (401, Some("session_expired")));
}

#[actix_web::test]
async fn the_job_event_stream_ends_with_its_session() {
    use futures_util::StreamExt;
    let app = TestApp::spawn().await;
    let browser = signed_in(&app, json!({ "token": ADMIN_TOKEN })).await;
    let mut events = app
        .client
        .get(app.url("/api/admin/jobs/events"))
        .insert_header(("cookie", browser.cookie.as_str()))
        .send()
        .await
        .unwrap();
    assert_eq!(events.status().as_u16(), 200);
    let first = events.next().await.unwrap().unwrap();
    assert!(String::from_utf8_lossy(&first).starts_with("event: jobs\n"), "{first:?}");
    let csrf = ("x-csrf-token", browser.csrf.as_str());
    assert_eq!(send(&app, "DELETE", "/api/admin/session", &browser, &[csrf], None).await.0, 204);
    let ended = actix_web::rt::time::timeout(std::time::Duration::from_secs(10), async {
        while let Some(chunk) = events.next().await {
            if chunk.is_err() {
                break;
            }
        }
    })
    .await;
    assert!(ended.is_ok(), "the stream ended within 10 s of the sign-out");
}
