//! `/api/admin/session`: a browser signs in (with the admin token or a
//! user's password) and gets an HttpOnly, SameSite=Strict cookie; the page
//! keeps only the CSRF token, in memory. Nothing secret goes to localStorage.

use std::net::IpAddr;
use std::time::{Duration, Instant};

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use cinemesh_common::ApiError;
use cinemesh_common::rate_limit::PerAddress;
use cinemesh_common::routes::resource;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::accounts::{AdminSession, SESSION_TTL, TOKEN_USER};
use super::auth::{Admin, SESSION_COOKIE, check_same_origin, check_token};
use crate::api::CatalogApi;

/// Failed sign-ins one household may make: ten at once, then one every 6 s.
const DEFAULT_ATTEMPTS_PER_MINUTE: u32 = 10;

pub fn configure_session(cfg: &mut web::ServiceConfig) {
    cfg.service(
        resource("/api/admin/session", "GET, POST, DELETE")
            .route(web::get().to(current_session))
            .route(web::post().to(sign_in))
            .route(web::delete().to(sign_out)),
    );
}

/// How to sign in: the admin token, or a user and their password.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(untagged)]
pub enum SignIn {
    Token(TokenSignIn),
    User(UserSignIn),
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TokenSignIn {
    #[schema(max_length = 1024)]
    pub token: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UserSignIn {
    #[schema(max_length = 64)]
    pub user: String,
    #[schema(max_length = 1024)]
    pub password: String,
}

/// A signed-in browser, as its page sees it.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct SessionView {
    /// The user's name, or `(admin token)`.
    pub user: String,
    /// Sent back in `x-csrf-token` with every request that changes something.
    /// Absent for the bearer token, which needs none.
    pub csrf_token: Option<String>,
    pub expires_at_ms: Option<i64>,
}

impl SessionView {
    fn of(user: &str, session: Option<&AdminSession>) -> Self {
        Self {
            user: user.to_owned(),
            csrf_token: session.map(|s| s.csrf_token.clone()),
            expires_at_ms: session.map(|s| s.expires_at_ms),
        }
    }
}

/// Failed sign-ins and admin-token guesses by client household: a burst,
/// then the same number a minute. While a household has none left, it may
/// not try at all.
#[derive(Clone, Debug)]
pub struct SignInAttempts(PerAddress);

impl SignInAttempts {
    pub fn per_minute(attempts: u32) -> Self {
        let attempts = f64::from(attempts.max(1));
        Self(PerAddress::new(attempts / 60.0, attempts))
    }
}

impl Default for SignInAttempts {
    fn default() -> Self {
        Self::per_minute(DEFAULT_ATTEMPTS_PER_MINUTE)
    }
}

impl SignInAttempts {
    /// Refused (`too_many_attempts`) while `address` has no attempt left.
    pub fn may_try(&self, address: Option<IpAddr>) -> Result<(), ApiError> {
        match address {
            Some(address) if !self.0.would_allow(address, Instant::now()) => Err(too_many_attempts()),
            _ => Ok(()),
        }
    }

    /// Takes an attempt before a check that awaits (a password hash): so many
    /// sent at once cannot all pass a look taken before any of them failed.
    pub fn take(&self, address: Option<IpAddr>) -> Result<(), ApiError> {
        match address {
            Some(address) if !self.0.allow(address, Instant::now()) => Err(too_many_attempts()),
            _ => Ok(()),
        }
    }

    pub fn failed(&self, address: Option<IpAddr>) {
        if let Some(address) = address {
            self.0.allow(address, Instant::now());
        }
    }
}

/// Sign in; sets the session cookie.
#[utoipa::path(post, path = "/api/admin/session", tag = "admin", request_body = SignIn,
    responses((status = 200, body = SessionView),
        (status = 400, body = cinemesh_common::ErrorBody, description = "`invalid_json`: neither {token} nor {user, password}"),
        (status = 401, body = cinemesh_common::ErrorBody, description = "`sign_in_failed`"),
        (status = 403, body = cinemesh_common::ErrorBody, description = "`csrf_failed`, `admin_disabled`"),
        (status = 429, body = cinemesh_common::ErrorBody, description = "`too_many_attempts`")))]
pub async fn sign_in(
    req: HttpRequest,
    api: web::Data<CatalogApi>,
    body: web::Json<SignIn>,
) -> Result<HttpResponse, ApiError> {
    // A page of another site must not sign a browser in to an account of its choosing.
    check_same_origin(&req)?;
    let address = api.trusted_proxies.client_address(&req);
    // Every sign-in counts, kept or not: the check below awaits a hash.
    api.sign_in_attempts.take(address)?;
    let (user, token) = match body.into_inner() {
        SignIn::Token(TokenSignIn { token }) => {
            check_token(&token, api.admin_token.as_deref()).map_err(|e| match e.code {
                "unauthorized" => sign_in_failed(),
                _ => e,
            })?;
            (TOKEN_USER.to_owned(), Some(token))
        }
        SignIn::User(UserSignIn { user, password }) => {
            if !api.accounts.verify(&user, &password).await.map_err(|e| ApiError::internal(&e))? {
                tracing::warn!(user, ?address, "a sign-in failed");
                return Err(sign_in_failed());
            }
            (user, None)
        }
    };
    let (cookie, session) =
        api.accounts.open_session(&user, token.as_deref()).await.map_err(|e| ApiError::internal(&e))?;
    tracing::info!(user, ?address, "an admin signed in");
    Ok(HttpResponse::Ok()
        .insert_header(("set-cookie", session_cookie(&req, &cookie, SESSION_TTL)))
        .insert_header(("cache-control", "no-store"))
        .json(SessionView::of(&user, Some(&session))))
}

/// Who is signed in, with the session's CSRF token.
#[utoipa::path(get, path = "/api/admin/session", tag = "admin", security(("admin_token" = []), ("admin_session" = [])),
    responses((status = 200, body = SessionView), (status = 401, body = cinemesh_common::ErrorBody),
        (status = 403, body = cinemesh_common::ErrorBody)))]
pub async fn current_session(admin: Admin) -> HttpResponse {
    let session = admin.session.as_ref().map(|(_, s)| s);
    HttpResponse::Ok().insert_header(("cache-control", "no-store")).json(SessionView::of(&admin.user, session))
}

/// Sign out: ends the session and clears the cookie.
#[utoipa::path(delete, path = "/api/admin/session", tag = "admin", security(("admin_token" = []), ("admin_session" = [])),
    responses((status = 204), (status = 401, body = cinemesh_common::ErrorBody),
        (status = 403, body = cinemesh_common::ErrorBody)))]
pub async fn sign_out(admin: Admin, req: HttpRequest, api: web::Data<CatalogApi>) -> Result<HttpResponse, ApiError> {
    if let Some((cookie, _)) = &admin.session {
        api.accounts.close_session(cookie).await.map_err(|e| ApiError::internal(&e))?;
    }
    Ok(HttpResponse::NoContent().insert_header(("set-cookie", session_cookie(&req, "", Duration::ZERO))).finish())
}

fn too_many_attempts() -> ApiError {
    ApiError::new(
        StatusCode::TOO_MANY_REQUESTS,
        "too_many_attempts",
        "too many sign-ins or wrong tokens from this address: wait a minute",
    )
}

fn sign_in_failed() -> ApiError {
    ApiError::new(StatusCode::UNAUTHORIZED, "sign_in_failed", "wrong token, user or password")
}

/// The session cookie: never readable by scripts, never sent by another
/// site's request, only to the admin API, `Secure` whenever the page is HTTPS.
fn session_cookie(req: &HttpRequest, value: &str, max_age: Duration) -> String {
    let secure = if req.connection_info().scheme() == "https" { "; Secure" } else { "" };
    format!(
        "{SESSION_COOKIE}={value}; Path=/api/admin; HttpOnly; SameSite=Strict; Max-Age={}{secure}",
        max_age.as_secs()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attempts_taken_up_front_are_counted_however_many_come_at_once() {
        let attempts = SignInAttempts::default();
        let a: IpAddr = "10.0.0.3".parse().unwrap();
        assert_eq!((0..50).filter(|_| attempts.take(Some(a)).is_ok()).count(), 10);
    }

    #[test]
    fn an_address_gets_a_burst_of_failures_then_waits() {
        let attempts = SignInAttempts::default();
        let (a, b): (IpAddr, IpAddr) = ("10.0.0.1".parse().unwrap(), "10.0.0.2".parse().unwrap());
        let mut tries = 0;
        while attempts.may_try(Some(a)).is_ok() && tries < 20 {
            attempts.failed(Some(a));
            tries += 1;
        }
        assert_eq!(tries, 10);
        assert_eq!(attempts.may_try(Some(a)).unwrap_err().code, "too_many_attempts");
        assert!(attempts.may_try(Some(b)).is_ok(), "another address has its own bucket");
        assert!(attempts.may_try(None).is_ok(), "an unknown address is not limited here");
    }

    #[test]
    fn the_cookie_is_http_only_strict_and_scoped_to_the_admin_api() {
        let req = actix_web::test::TestRequest::default().to_http_request();
        let cookie = session_cookie(&req, "abc", SESSION_TTL);
        assert_eq!(cookie, "cinemesh_admin=abc; Path=/api/admin; HttpOnly; SameSite=Strict; Max-Age=43200");
        let https =
            actix_web::test::TestRequest::default().insert_header(("x-forwarded-proto", "https")).to_http_request();
        assert!(session_cookie(&https, "abc", SESSION_TTL).ends_with("; Secure"));
    }
}
