//! `/media/...`: the segment server's routes.

use actix_web::http::{Method, StatusCode, header};
use actix_web::{HttpRequest, HttpResponse, web};
use cinemesh_common::ApiError;

use crate::counters::ServedBytes;
use crate::file_response::{FileResponder, content_type_for};
use crate::media_path::MediaPath;
use crate::served_dir::ServedDir;

const ROUTE_PREFIX: &str = "/media/";

/// Segments and posters never change once written: let every cache keep them.
const IMMUTABLE: &str = "public, max-age=31536000, immutable";
/// VOD playlists do not change either, but a short lifetime keeps a re-ingest
/// under the same id (an operator's repair) visible within minutes.
const PLAYLIST: &str = "public, max-age=300";

/// The web client may be served from another origin (a CDN, a dev server).
const CORS: &[(&str, &str)] = &[
    ("access-control-allow-origin", "*"),
    ("access-control-expose-headers", "content-length, content-range, etag, accept-ranges"),
];

/// What the media routes need: the media folder and the counters.
#[derive(Clone)]
pub struct MediaState {
    dir: std::sync::Arc<ServedDir>,
    served: ServedBytes,
}

impl MediaState {
    /// `root` must exist.
    pub fn new(root: &std::path::Path, served: ServedBytes) -> std::io::Result<Self> {
        Ok(Self { dir: std::sync::Arc::new(ServedDir::open(root)?), served })
    }
}

pub fn configure_media(cfg: &mut web::ServiceConfig, state: MediaState) {
    // A scope with a default service rather than a `{tail:.*}` route: the
    // router's regex was ~3 % of the CPU time of a 200 KB segment response.
    cfg.app_data(web::Data::new(state)).service(web::scope("/media").default_service(web::to(media_by_method)));
}

async fn media_by_method(req: HttpRequest, state: web::Data<MediaState>) -> Result<HttpResponse, ApiError> {
    match *req.method() {
        Method::GET | Method::HEAD => serve_media(req, state).await,
        Method::OPTIONS => Ok(preflight()),
        _ => Err(ApiError::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "method_not_allowed",
            format!("{} is not allowed on media files", req.method()),
        )),
    }
}

async fn serve_media(req: HttpRequest, state: web::Data<MediaState>) -> Result<HttpResponse, ApiError> {
    // The raw path, still percent-encoded: decoding happens once, in MediaPath.
    let raw = req.path().strip_prefix(ROUTE_PREFIX).unwrap_or_default();
    let path = MediaPath::parse(raw).map_err(|e| ApiError::bad_request("invalid_media_path", e.to_string()))?;
    let not_found = || ApiError::not_found("media_not_found", format!("no media file at {raw}"));
    let content_type = content_type_for(path.extension()).ok_or_else(not_found)?;
    let file = state.dir.open_file(&path).ok_or_else(not_found)?;
    let responder = FileResponder {
        cache_control: if path.extension() == "m3u8" { PLAYLIST } else { IMMUTABLE },
        served_bytes: Some(state.served.counter(path.movie(), path.rendition(), path.extension())),
        extra_headers: CORS,
    };
    responder.respond(&req, file, content_type).map_err(|e| if e.code == "media_not_found" { not_found() } else { e })
}

fn preflight() -> HttpResponse {
    HttpResponse::NoContent()
        .insert_header(("access-control-allow-origin", "*"))
        .insert_header(("access-control-allow-methods", "GET, HEAD, OPTIONS"))
        .insert_header(("access-control-allow-headers", "range, if-none-match, if-range"))
        .insert_header((header::ACCESS_CONTROL_MAX_AGE, "86400"))
        .finish()
}
