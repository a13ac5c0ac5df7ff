//! Upgrading an HTTP request to a WebSocket with a frame limit, the same way
//! for `/tracker` and `/announce`.

use actix_web::{HttpRequest, HttpResponse, web};

/// The upgrade response to return, the socket to write to, and the incoming
/// messages, with frames (and messages assembled from continuations) capped at
/// `max_frame_bytes`.
pub fn upgrade(
    req: &HttpRequest,
    body: web::Payload,
    max_frame_bytes: usize,
) -> Result<(HttpResponse, actix_ws::Session, actix_ws::AggregatedMessageStream), actix_web::Error> {
    let (response, session, stream) = actix_ws::handle(req, body)?;
    let stream =
        stream.max_frame_size(max_frame_bytes).aggregate_continuations().max_continuation_size(max_frame_bytes);
    Ok((response, session, stream))
}
