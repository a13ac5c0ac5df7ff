//! The error envelope every HTTP API of Cinemesh answers with:
//! `{"error": "<stable_snake_case_code>", "message": "<for people>"}`.
//! Clients switch on `error`; `message` may change wording at any time.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use serde::{Deserialize, Serialize};

/// Body of every error response.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq, utoipa::ToSchema)]
pub struct ErrorBody {
    /// Stable machine-readable code, snake_case.
    pub error: String,
    /// Human-readable explanation.
    pub message: String,
}

/// An error that is ready to be sent to a client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self { status, code, message: message.into() }
    }

    pub fn bad_request(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, code, message)
    }

    pub fn not_found(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, code, message)
    }

    /// An unexpected failure: the cause is logged here with its chain, the client
    /// only learns that something went wrong on our side.
    pub fn internal(cause: &(dyn std::error::Error + 'static)) -> Self {
        let mut chain = cause.to_string();
        let mut source = cause.source();
        while let Some(inner) = source {
            chain.push_str(": ");
            chain.push_str(&inner.to_string());
            source = inner.source();
        }
        tracing::error!(cause = %chain, "internal error");
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal_error",
            "the server failed to handle this request; it has been logged",
        )
    }

    pub fn body(&self) -> ErrorBody {
        ErrorBody { error: self.code.to_owned(), message: self.message.clone() }
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.code, self.message)
    }
}

impl std::error::Error for ApiError {}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        self.status
    }

    fn error_response(&self) -> HttpResponse {
        HttpResponse::build(self.status).json(self.body())
    }
}

/// A code read back from storage (a job's failure) as the `&'static str` an
/// `ApiError` carries. Codes are few and ours: each distinct one is kept
/// once, for the life of the process; past 256 of them, `fallback`.
pub fn stored_code(code: &str, fallback: &'static str) -> &'static str {
    static CODES: std::sync::Mutex<Vec<&'static str>> = std::sync::Mutex::new(Vec::new());
    let mut codes = CODES.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    if let Some(known) = codes.iter().find(|known| **known == code) {
        return known;
    }
    if codes.len() >= 256 {
        return fallback;
    }
    let kept: &'static str = Box::leak(code.to_owned().into_boxed_str());
    codes.push(kept);
    kept
}

/// Turns actix's own extractor failures (bad query string, bad JSON, oversized
/// payload) into the envelope, so no response from our APIs is plain text.
pub fn extractor_error(code: &'static str, err: impl std::fmt::Display) -> actix_web::Error {
    ApiError::bad_request(code, err.to_string()).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_body_serializes_code_and_message() {
        let err = ApiError::not_found("movie_not_found", "no movie with id x");
        let json = serde_json::to_value(err.body()).unwrap_or_default();
        assert_eq!(json["error"], "movie_not_found");
        assert_eq!(json["message"], "no movie with id x");
        assert_eq!(err.status_code(), StatusCode::NOT_FOUND);
    }

    #[test]
    fn stored_codes_are_kept_once() {
        let first = stored_code("not_a_video", "x");
        let again = stored_code(&String::from("not_a_video"), "x");
        assert!(std::ptr::eq(first, again));
        assert_eq!(first, "not_a_video");
    }
}
