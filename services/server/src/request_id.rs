//! Every HTTP request gets an id: log lines written while it is served carry
//! it (a tracing span with the method and path), and the response names it in
//! `x-request-id`, so a user's report can be matched with the server's log.

use actix_web::Error;
use actix_web::dev::{Service, ServiceRequest, ServiceResponse};
use actix_web::http::header::{HeaderName, HeaderValue};
use futures_util::future::LocalBoxFuture;
use tracing::Instrument;

pub const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// For `App::wrap_fn`: serves the request inside its span and names it in the response.
pub fn with_request_id<S, B>(
    req: ServiceRequest,
    service: &S,
) -> LocalBoxFuture<'static, Result<ServiceResponse<B>, Error>>
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = Error>,
    S::Future: 'static,
{
    let id = cinemesh_common::id::random_id(12);
    let span = tracing::info_span!("http", request = %id, method = %req.method(), path = %req.path());
    let response = service.call(req);
    Box::pin(
        async move {
            let mut response = response.await?;
            if let Ok(value) = HeaderValue::from_str(&id) {
                response.headers_mut().insert(REQUEST_ID, value);
            }
            Ok(response)
        }
        .instrument(span),
    )
}
