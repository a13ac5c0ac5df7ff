//! The web client's built files (`web/dist`), with the single-page-app rule:
//! a path that names no file gets `index.html`, so deep links like
//! `/movies/abc` load the app, which then routes on the client.

use std::sync::Arc;

use actix_web::{HttpRequest, HttpResponse, web};
use cinemesh_common::ApiError;

use crate::file_response::{FileResponder, content_type_for};
use crate::media_path::MediaPath;
use crate::served_dir::ServedDir;

/// Vite puts content-hashed bundles under `assets/`: cache them forever.
const HASHED_ASSET: &str = "public, max-age=31536000, immutable";
/// Everything else (index.html above all) must be revalidated so a new
/// release is picked up on the next load.
const REVALIDATE: &str = "no-cache";

#[derive(Clone)]
pub struct WebState {
    dir: Option<Arc<ServedDir>>,
}

impl WebState {
    /// `root` is the built client; `None` (not built) serves a short explanation.
    pub fn new(root: Option<&std::path::Path>) -> Self {
        Self { dir: root.and_then(|r| ServedDir::open(r).ok()).map(Arc::new) }
    }
}

/// Registers the catch-all; call it after every other route.
pub fn configure_web(cfg: &mut web::ServiceConfig, state: WebState) {
    cfg.app_data(web::Data::new(state)).default_service(web::to(serve_web));
}

async fn serve_web(req: HttpRequest, state: web::Data<WebState>) -> Result<HttpResponse, ApiError> {
    let raw = req.path().trim_start_matches('/');
    if raw.starts_with("api/") {
        return Err(ApiError::not_found("no_route", format!("no API route {} {}", req.method(), req.path())));
    }
    if req.method() != actix_web::http::Method::GET && req.method() != actix_web::http::Method::HEAD {
        return Err(ApiError::new(
            actix_web::http::StatusCode::METHOD_NOT_ALLOWED,
            "method_not_allowed",
            format!("{} is not allowed on {}", req.method(), req.path()),
        ));
    }
    let Some(dir) = &state.dir else {
        return Ok(HttpResponse::Ok()
            .content_type("text/plain; charset=utf-8")
            .body("The web client is not built. Run `npm ci && npm run build` in web/, or use scripts/start.sh.\n"));
    };
    let takes_gzip = accepts_gzip(&req);
    let mut encoding: &'static [(&'static str, &'static str)] = &[];
    let asset = MediaPath::parse(raw).ok().and_then(|path| {
        let content_type = content_type_for(path.extension())?;
        let cache = if path.components().first().is_some_and(|c| c == "assets") { HASHED_ASSET } else { REVALIDATE };
        if let Some(twin) = takes_gzip.then(|| gzip_twin(dir, raw)).flatten() {
            encoding = GZIPPED;
            return Some((twin, content_type, cache));
        }
        let file = dir.open_file(&path)?;
        if gzip_twin(dir, raw).is_some() {
            encoding = PLAIN_BESIDE_GZIP;
        }
        Some((file, content_type, cache))
    });
    let (file, content_type, cache_control) = match asset {
        Some(found) => found,
        None if raw.contains('.') && !raw.ends_with(".html") => {
            return Err(ApiError::not_found("not_found", format!("no file {}", req.path())));
        }
        None => {
            let index = std::fs::File::open(dir.root().join("index.html"))
                .map_err(|_| ApiError::not_found("not_found", "the web client has no index.html"))?;
            (index, "text/html; charset=utf-8", REVALIDATE)
        }
    };
    let responder = FileResponder { cache_control, served_bytes: None, extra_headers: encoding };
    responder.respond(&req, file, content_type)
}

/// The build writes a gzip copy beside each text file worth compressing (web/vite-precompress.ts).
const GZIPPED: &[(&str, &str)] = &[("content-encoding", "gzip"), ("vary", "accept-encoding")];
/// Caches must keep the two copies apart.
const PLAIN_BESIDE_GZIP: &[(&str, &str)] = &[("vary", "accept-encoding")];

fn gzip_twin(dir: &ServedDir, raw: &str) -> Option<std::fs::File> {
    dir.open_file(&MediaPath::parse(&format!("{raw}.gz")).ok()?)
}

/// Whether `Accept-Encoding` lists gzip (or `*`) without refusing it with `q=0`.
fn accepts_gzip(req: &HttpRequest) -> bool {
    let Some(value) = req.headers().get(actix_web::http::header::ACCEPT_ENCODING).and_then(|v| v.to_str().ok()) else {
        return false;
    };
    value.split(',').any(|item| {
        let mut parts = item.split(';').map(str::trim);
        let coding = parts.next().unwrap_or_default();
        let refused = parts.any(|p| p.strip_prefix("q=").and_then(|q| q.parse::<f32>().ok()) == Some(0.0));
        (coding.eq_ignore_ascii_case("gzip") || coding == "*") && !refused
    })
}
