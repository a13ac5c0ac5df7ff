//! Who may use the admin API: a request with the admin bearer token (scripts,
//! the CLI), or a browser with a session cookie. Listed first among a
//! handler's arguments, the extractor runs before the others, so a request
//! without either learns only that (401), never whether its query or path was
//! valid.
//!
//! A cookie is sent by the browser whoever made the page, so a request it
//! signs in must also prove it came from our own page: an unsafe method needs
//! the session's CSRF token in `x-csrf-token` (another site cannot read it),
//! and a browser's `Origin` or `Sec-Fetch-Site`, when sent, must say same-origin.

use std::future::Future;
use std::pin::Pin;

use actix_web::dev::Payload;
use actix_web::http::{Method, StatusCode};
use actix_web::{FromRequest, HttpRequest, web};
use cinemesh_common::ApiError;

use super::accounts::{AdminSession, TOKEN_USER, token_fingerprint};
use crate::api::CatalogApi;

/// The cookie that carries a browser's admin session.
pub const SESSION_COOKIE: &str = "cinemesh_admin";
pub const CSRF_HEADER: &str = "x-csrf-token";

/// Proof that the request may use the admin API.
#[derive(Debug)]
pub struct Admin {
    pub user: String,
    /// The browser session it came with; `None` for the bearer token.
    pub session: Option<(String, AdminSession)>,
}

impl FromRequest for Admin {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, ApiError>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move {
            let api = req.app_data::<web::Data<CatalogApi>>().ok_or_else(|| {
                ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal_error", "the admin API is not configured")
            })?;
            authenticate(&req, api).await
        })
    }
}

async fn authenticate(req: &HttpRequest, api: &CatalogApi) -> Result<Admin, ApiError> {
    if let Some(header) = req.headers().get("authorization") {
        // Guesses at the token are limited like failed sign-ins.
        let address = api.trusted_proxies.client_address(req);
        api.sign_in_attempts.may_try(address)?;
        let given = header.to_str().ok().and_then(bearer_token).unwrap_or_default();
        if let Err(e) = check_token(given, api.admin_token.as_deref()) {
            if e.code == "unauthorized" {
                api.sign_in_attempts.failed(address);
            }
            return Err(e);
        }
        return Ok(Admin { user: TOKEN_USER.to_owned(), session: None });
    }
    if let Some(cookie) = cookie_value(req, SESSION_COOKIE) {
        let current_token = api.admin_token.as_deref().map(|token| token_fingerprint(&cookie, token));
        let session = api
            .accounts
            .session(&cookie)
            .await
            .map_err(|e| ApiError::internal(&e))?
            // A session the admin token opened ends when the token changes.
            .filter(|s| s.token_sha256.is_none() || s.token_sha256 == current_token)
            .ok_or_else(|| {
                ApiError::new(StatusCode::UNAUTHORIZED, "session_expired", "the admin session ended: sign in again")
            })?;
        if !is_safe(req.method()) {
            check_same_origin(req)?;
            let given = req.headers().get(CSRF_HEADER).and_then(|v| v.to_str().ok()).unwrap_or_default();
            if !constant_time_eq(given.as_bytes(), session.csrf_token.as_bytes()) {
                return Err(csrf_failed(format!("send the session's CSRF token in {CSRF_HEADER}")));
            }
        }
        return Ok(Admin { user: session.user.clone(), session: Some((cookie, session)) });
    }
    if api.admin_token.is_none() && !api.accounts.has_users().await.map_err(|e| ApiError::internal(&e))? {
        return Err(admin_disabled());
    }
    Err(ApiError::new(
        StatusCode::UNAUTHORIZED,
        "unauthorized",
        "sign in at /admin, or send a valid admin bearer token",
    ))
}

/// A request a browser made for a page of another site is refused, even
/// with a valid cookie. Requests without these headers (scripts, old
/// browsers) still need the CSRF token, which only our pages can read.
pub fn check_same_origin(req: &HttpRequest) -> Result<(), ApiError> {
    if req.headers().get("sec-fetch-site").and_then(|v| v.to_str().ok()).is_some_and(|site| site == "cross-site") {
        return Err(csrf_failed("the request came from another site".into()));
    }
    if let Some(origin) = req.headers().get("origin").and_then(|v| v.to_str().ok()) {
        let info = req.connection_info();
        let own = format!("{}://{}", info.scheme(), info.host());
        if !origin.eq_ignore_ascii_case(&own) {
            return Err(csrf_failed(format!("the request came from {origin}, not {own}")));
        }
    }
    Ok(())
}

fn csrf_failed(message: String) -> ApiError {
    ApiError::new(StatusCode::FORBIDDEN, "csrf_failed", message)
}

fn admin_disabled() -> ApiError {
    ApiError::new(
        StatusCode::FORBIDDEN,
        "admin_disabled",
        "the admin API is disabled: set admin.token (CINEMESH_ADMIN_TOKEN) or add a user (cinemesh admin-user add NAME)",
    )
}

fn is_safe(method: &Method) -> bool {
    matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
}

/// Whether `given` is the configured admin token.
pub fn check_token(given: &str, expected: Option<&str>) -> Result<(), ApiError> {
    let Some(expected) = expected.filter(|t| !t.is_empty()) else {
        return Err(admin_disabled());
    };
    if constant_time_eq(given.as_bytes(), expected.as_bytes()) {
        Ok(())
    } else {
        Err(ApiError::new(StatusCode::UNAUTHORIZED, "unauthorized", "a valid admin bearer token is required"))
    }
}

/// The value of cookie `name` in the request's `Cookie` headers.
fn cookie_value(req: &HttpRequest, name: &str) -> Option<String> {
    req.headers()
        .get_all("cookie")
        .filter_map(|v| v.to_str().ok())
        .flat_map(|header| header.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(key, _)| *key == name)
        .map(|(_, value)| value.trim_matches('"').to_owned())
        .filter(|value| !value.is_empty())
}

/// The token of `Bearer <token>`; the scheme is case-insensitive (RFC 9110).
fn bearer_token(header: &str) -> Option<&str> {
    let (scheme, token) = header.trim().split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
}

/// Compares without an early exit, so response time says nothing about how
/// much of a guessed token was right.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    let mut diff = a.len() ^ b.len();
    for (i, byte) in b.iter().enumerate() {
        diff |= usize::from(a.get(i).copied().unwrap_or(0) ^ byte);
    }
    diff == 0
}

#[cfg(test)]
mod tests {
    use actix_web::test::TestRequest;

    use super::*;

    #[test]
    fn constant_time_eq_compares_whole_tokens() {
        assert!(constant_time_eq(b"secret", b"secret"));
        assert!(!constant_time_eq(b"secre", b"secret"));
        assert!(!constant_time_eq(b"secret!", b"secret"));
        assert!(!constant_time_eq(b"", b"secret"));
        assert!(!constant_time_eq(b"Secret", b"secret"));
    }

    #[test]
    fn the_bearer_scheme_is_case_insensitive() {
        assert_eq!(bearer_token("Bearer abc"), Some("abc"));
        assert_eq!(bearer_token("bearer abc"), Some("abc"));
        assert_eq!(bearer_token("BEARER  abc "), Some("abc"));
        assert_eq!(bearer_token("Basic abc"), None);
        assert_eq!(bearer_token("Bearer"), None);
    }

    #[test]
    fn the_session_cookie_is_found_among_others() {
        let req = TestRequest::default()
            .insert_header(("cookie", "theme=dark; cinemesh_admin=abc123; other=1"))
            .to_http_request();
        assert_eq!(cookie_value(&req, SESSION_COOKIE).as_deref(), Some("abc123"));
        let req = TestRequest::default().insert_header(("cookie", "xcinemesh_admin=abc")).to_http_request();
        assert_eq!(cookie_value(&req, SESSION_COOKIE), None);
    }

    #[test]
    fn requests_from_other_sites_are_refused() {
        let own = TestRequest::default()
            .insert_header(("host", "movies.example"))
            .insert_header(("origin", "http://movies.example"))
            .to_http_request();
        assert!(check_same_origin(&own).is_ok());
        let other = TestRequest::default()
            .insert_header(("host", "movies.example"))
            .insert_header(("origin", "http://evil.example"))
            .to_http_request();
        assert_eq!(check_same_origin(&other).unwrap_err().code, "csrf_failed");
        let fetch = TestRequest::default().insert_header(("sec-fetch-site", "cross-site")).to_http_request();
        assert_eq!(check_same_origin(&fetch).unwrap_err().code, "csrf_failed");
        assert!(check_same_origin(&TestRequest::default().to_http_request()).is_ok());
    }
}
