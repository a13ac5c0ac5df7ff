//! Routes that answer like HTTP says they should: a resource asked with a
//! method it does not serve answers 405 with `Allow` (not 404), and a
//! WebSocket endpoint asked without an upgrade answers 426 with `Upgrade`.

use actix_web::http::StatusCode;
use actix_web::http::header::{ALLOW, UPGRADE};
use actix_web::{HttpRequest, HttpResponse, Resource, web};

use crate::ApiError;

/// A resource at `path` whose routes serve `allowed` (e.g. "GET", "GET, POST");
/// any other method gets 405 with `Allow: allowed`.
pub fn resource(path: &str, allowed: &'static str) -> Resource {
    web::resource(path).default_service(web::to(move || async move {
        let error = ApiError::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "method_not_allowed",
            format!("this resource answers {allowed}"),
        );
        HttpResponse::MethodNotAllowed().insert_header((ALLOW, allowed)).json(error.body())
    }))
}

/// Upgrades to a WebSocket whose frames (and messages reassembled from
/// continuations) are at most `max_bytes`; a request that is not a WebSocket
/// handshake gets 426 with a coded body.
pub fn upgrade_websocket(
    req: &HttpRequest,
    body: web::Payload,
    max_bytes: usize,
) -> Result<(HttpResponse, actix_ws::Session, actix_ws::AggregatedMessageStream), actix_web::Error> {
    let (response, session, stream) = actix_ws::handle(req, body).map_err(|_| {
        let error = ApiError::new(
            StatusCode::UPGRADE_REQUIRED,
            "upgrade_required",
            "this is a WebSocket endpoint: connect with Upgrade: websocket",
        );
        let response =
            HttpResponse::build(StatusCode::UPGRADE_REQUIRED).insert_header((UPGRADE, "websocket")).json(error.body());
        actix_web::error::InternalError::from_response("upgrade required", response)
    })?;
    let stream = stream.max_frame_size(max_bytes).aggregate_continuations().max_continuation_size(max_bytes);
    Ok((response, session, stream))
}
