//! The admin library's routes: the table, editing a movie's details, and
//! replacing its poster with an image or one of its own frames.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use cinemesh_common::routes::resource;
use cinemesh_common::{ApiError, ErrorBody};
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};

use super::Admin;
use super::library::{LibraryPage, LibrarySort, MovieEdit};
use crate::api::{CatalogApi, db_error, invalid, movie_not_found, receive_upload, refuse_declared_oversize};
use crate::domain::{JsonInteger, ListQuery, MovieId};
use crate::ingest::IngestError;
use crate::model::RenditionKind;
use crate::poster::{IMAGE_TYPES, MAX_POSTER_BYTES, image_demuxer, image_input, rendition_input, write_poster};

pub fn configure_library(cfg: &mut web::ServiceConfig) {
    cfg.service(resource("/api/admin/library", "GET").route(web::get().to(library)))
        .service(resource("/api/admin/movies/{id}/poster", "PUT").route(web::put().to(upload_poster)))
        .service(resource("/api/admin/movies/{id}/poster/frame", "POST").route(web::post().to(poster_from_frame)));
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct LibraryParams {
    /// Search text, matched against titles and descriptions (case-insensitive).
    #[param(max_length = 200)]
    q: Option<String>,
    /// What to sort by (default `added`).
    sort: Option<LibrarySort>,
    /// `asc` or `desc` (default: newest, largest, most first; titles A to Z).
    #[param(pattern = "^(asc|desc)$")]
    order: Option<String>,
    #[param(minimum = 1, maximum = 1000000)]
    page: Option<i64>,
    #[param(minimum = 1, maximum = 100)]
    per_page: Option<i64>,
}

/// Every movie with its size, tracks, viewers now and bytes served.
#[utoipa::path(get, path = "/api/admin/library", tag = "admin", params(LibraryParams),
    security(("admin_token" = []), ("admin_session" = [])),
    responses((status = 200, body = LibraryPage), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody)))]
pub async fn library(
    _admin: Admin,
    api: web::Data<CatalogApi>,
    params: web::Query<LibraryParams>,
) -> Result<HttpResponse, ApiError> {
    let query = ListQuery::parse(params.q.as_deref(), params.page, params.per_page).map_err(invalid)?;
    let sort = params.sort.unwrap_or(LibrarySort::Added);
    let descending = match params.order.as_deref() {
        None => !matches!(sort, LibrarySort::Title),
        Some("desc") => true,
        Some("asc") => false,
        Some(other) => {
            return Err(ApiError::bad_request("invalid_order", format!("order is asc or desc, not {other:?}")));
        }
    };
    let page = api.ingester.store.library(&query, sort, descending).await.map_err(db_error)?;
    Ok(HttpResponse::Ok().insert_header(("cache-control", "no-store")).json(page))
}

/// Change a movie's title, description or year.
#[utoipa::path(patch, path = "/api/admin/movies/{id}", tag = "admin", request_body = MovieEdit,
    params(("id" = String, Path, description = "Movie id", pattern = "^[a-z0-9][a-z0-9_-]{0,63}$")),
    security(("admin_token" = []), ("admin_session" = [])),
    responses((status = 200, body = crate::model::MovieDetail),
        (status = 400, body = ErrorBody, description = "`invalid_title`, `invalid_description`, `invalid_year`"),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody, description = "`csrf_failed`"),
        (status = 404, body = ErrorBody)))]
pub async fn edit_movie(
    _admin: Admin,
    api: web::Data<CatalogApi>,
    id: web::Path<String>,
    edit: web::Json<MovieEdit>,
) -> Result<HttpResponse, ApiError> {
    let id = MovieId::parse(&id).map_err(invalid)?;
    let (movie, _) =
        api.ingester.store.get(&id).await.map_err(db_error)?.ok_or_else(|| movie_not_found(id.as_str()))?;
    let edited = edit.apply(&movie).map_err(invalid)?;
    if !api.ingester.store.update_details(&edited).await.map_err(db_error)? {
        return Err(movie_not_found(id.as_str()));
    }
    tracing::info!(movie = %id, title = %edited.title, "movie details edited");
    let detail = api.detail_of(&id).await.map_err(db_error)?.ok_or_else(|| movie_not_found(id.as_str()))?;
    Ok(HttpResponse::Ok().insert_header(("cache-control", "no-store")).json(detail))
}

/// Replace a movie's poster with an image (the raw body: JPEG, PNG or WebP,
/// at most 5 MiB). It is re-encoded, at most 360 pixels tall.
#[utoipa::path(put, path = "/api/admin/movies/{id}/poster", tag = "admin",
    params(("id" = String, Path, description = "Movie id", pattern = "^[a-z0-9][a-z0-9_-]{0,63}$")),
    request_body(content = Vec<u8>, content_type = "image/jpeg"),
    security(("admin_token" = []), ("admin_session" = [])),
    responses((status = 200, body = crate::model::MovieDetail),
        (status = 400, body = ErrorBody, description = "`empty_upload`"), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 413, body = ErrorBody, description = "`upload_too_large`"),
        (status = 415, body = ErrorBody, description = "`unsupported_image`"),
        (status = 422, body = ErrorBody, description = "`image_unreadable`")))]
pub async fn upload_poster(
    _admin: Admin,
    req: HttpRequest,
    api: web::Data<CatalogApi>,
    id: web::Path<String>,
    body: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let id = MovieId::parse(&id).map_err(invalid)?;
    let content_type = req.headers().get("content-type").and_then(|v| v.to_str().ok()).unwrap_or_default();
    let Some(demuxer) = image_demuxer(content_type) else {
        let types = IMAGE_TYPES.iter().map(|(mime, _)| *mime).collect::<Vec<_>>().join(", ");
        return Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_image",
            format!("send one of {types}"),
        ));
    };
    refuse_declared_oversize(&req, MAX_POSTER_BYTES)?;
    let folder = movie_folder(&api, &id).await?;
    let image = receive_upload(&api.upload_dir, MAX_POSTER_BYTES, body).await?;
    let input = image_input(demuxer, image.path());
    write_poster(&api.ingester.tools, &input, None, &folder)
        .await
        .map_err(|e| poster_error(e, "image_unreadable", "the image could not be read as its type"))?;
    poster_changed(&api, &id).await
}

/// A moment of the movie to take the poster from.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PosterFrame {
    /// Milliseconds from the start, within the movie.
    #[schema(value_type = i64)]
    pub at_ms: JsonInteger,
}

/// Take a movie's poster from one of its own frames (its best rendition).
#[utoipa::path(post, path = "/api/admin/movies/{id}/poster/frame", tag = "admin", request_body = PosterFrame,
    params(("id" = String, Path, description = "Movie id", pattern = "^[a-z0-9][a-z0-9_-]{0,63}$")),
    security(("admin_token" = []), ("admin_session" = [])),
    responses((status = 200, body = crate::model::MovieDetail),
        (status = 400, body = ErrorBody, description = "`invalid_position`"), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 422, body = ErrorBody, description = "`frame_unreadable`")))]
pub async fn poster_from_frame(
    _admin: Admin,
    api: web::Data<CatalogApi>,
    id: web::Path<String>,
    frame: web::Json<PosterFrame>,
) -> Result<HttpResponse, ApiError> {
    let id = MovieId::parse(&id).map_err(invalid)?;
    let (movie, renditions) =
        api.ingester.store.get(&id).await.map_err(db_error)?.ok_or_else(|| movie_not_found(id.as_str()))?;
    let at_ms = frame.at_ms.0;
    if !(0..movie.duration_ms).contains(&at_ms) {
        return Err(ApiError::bad_request(
            "invalid_position",
            format!("at_ms is between 0 and {} (the movie's length)", movie.duration_ms - 1),
        ));
    }
    // Renditions come best first.
    let best = renditions
        .iter()
        .find(|r| r.kind == RenditionKind::Video)
        .ok_or_else(|| ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "frame_unreadable", "the movie has no video"))?;
    let folder = movie_folder(&api, &id).await?;
    let input = rendition_input(&folder.join(&best.name).join("index.m3u8"));
    write_poster(&api.ingester.tools, &input, Some(at_ms as f64 / 1000.0), &folder)
        .await
        .map_err(|e| poster_error(e, "frame_unreadable", "that frame could not be read"))?;
    poster_changed(&api, &id).await
}

/// The media folder of a movie that exists.
async fn movie_folder(api: &CatalogApi, id: &MovieId) -> Result<std::path::PathBuf, ApiError> {
    api.ingester.store.get(id).await.map_err(db_error)?.ok_or_else(|| movie_not_found(id.as_str()))?;
    Ok(api.ingester.media_dir.join(id.as_str()))
}

async fn poster_changed(api: &CatalogApi, id: &MovieId) -> Result<HttpResponse, ApiError> {
    if !api.ingester.store.bump_poster_version(id).await.map_err(db_error)? {
        return Err(movie_not_found(id.as_str()));
    }
    tracing::info!(movie = %id, "poster replaced");
    let detail = api.detail_of(id).await.map_err(db_error)?.ok_or_else(|| movie_not_found(id.as_str()))?;
    Ok(HttpResponse::Ok().insert_header(("cache-control", "no-store")).json(detail))
}

fn poster_error(e: IngestError, code: &'static str, message: &str) -> ApiError {
    match e {
        IngestError::EncodeFailed(_) => ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, code, message),
        IngestError::FfmpegMissing { .. } => {
            ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "ffmpeg_missing", e.to_string())
        }
        other => ApiError::internal(&other),
    }
}
