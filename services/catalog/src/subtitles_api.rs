//! `/api/admin/movies/{id}/subtitles`: add a subtitle file to a movie as a
//! track (the raw request body), or remove one of its subtitle tracks.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use cinemesh_common::routes::resource;
use cinemesh_common::{ApiError, ErrorBody};
use futures_util::StreamExt;
use serde::Deserialize;
use utoipa::IntoParams;

use crate::admin::Admin;
use crate::api::CatalogApi;
use crate::domain::MovieId;
use crate::model::{self, SubtitleView};
use crate::subtitle_tracks::{NewSubtitles, SubtitleTrackError};
use crate::subtitles::{MAX_SUBTITLE_FILE_BYTES, SubtitleError, SubtitleFormat};

pub fn configure_subtitles(cfg: &mut web::ServiceConfig) {
    cfg.service(resource("/api/admin/movies/{id}/subtitles", "POST").route(web::post().to(add_subtitles))).service(
        resource("/api/admin/movies/{id}/subtitles/{name}", "DELETE").route(web::delete().to(remove_subtitles)),
    );
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SubtitleParams {
    /// The subtitles' language: a BCP 47 tag (`fr`, `pt-BR`) or ISO 639-2 code (`fre`).
    #[param(max_length = 35)]
    language: Option<String>,
    /// Its name in the players' menu; by default the language's own name ("Français").
    #[param(max_length = 200)]
    label: Option<String>,
    /// Its text encoding when it is neither UTF-8 nor its language's usual legacy one (`windows-1252`, `shift_jis`).
    #[param(max_length = 40)]
    encoding: Option<String>,
    /// The file's format; by default read from the file itself.
    #[param(inline)]
    format: Option<FormatParam>,
}

/// A subtitle file's format, as its usual extension names it.
#[derive(Debug, Clone, Copy, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum FormatParam {
    Srt,
    Vtt,
    Ass,
    Ssa,
}

impl From<FormatParam> for SubtitleFormat {
    fn from(format: FormatParam) -> Self {
        match format {
            FormatParam::Srt => Self::SubRip,
            FormatParam::Vtt => Self::WebVtt,
            FormatParam::Ass | FormatParam::Ssa => Self::Ass,
        }
    }
}

/// Add a subtitle file (SubRip, WebVTT or ASS/SSA, the raw request body, at
/// most 5 MiB) to a movie as a subtitle track. It is read in its encoding,
/// checked cue by cue and stored as WebVTT; a file that does not read is
/// refused with the line where it stops making sense, and nothing is added.
#[utoipa::path(post, path = "/api/admin/movies/{id}/subtitles", tag = "admin",
    params(("id" = String, Path, description = "Movie id", pattern = "^[a-z0-9][a-z0-9_-]{0,63}$"), SubtitleParams),
    request_body(content = Vec<u8>, content_type = "application/octet-stream"),
    security(("admin_token" = [])),
    responses((status = 201, body = SubtitleView),
        (status = 400, body = ErrorBody, description = "`invalid_language`, `unknown_encoding`, `unknown_subtitle_format`, an invalid id"),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody, description = "`movie_not_found`"),
        (status = 409, body = ErrorBody, description = "`too_many_subtitle_tracks`"),
        (status = 413, body = ErrorBody, description = "`subtitle_too_large`"),
        (status = 422, body = ErrorBody,
            description = "`subtitle_malformed` (with the line), `subtitle_not_text`, `subtitle_encoding`, `subtitle_empty`, `too_many_cues`")))]
pub async fn add_subtitles(
    _admin: Admin,
    api: web::Data<CatalogApi>,
    id: web::Path<String>,
    params: web::Query<SubtitleParams>,
    body: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let id = MovieId::parse(&id).map_err(|e| ApiError::bad_request(e.code, e.message))?;
    let params = params.into_inner();
    let new = NewSubtitles {
        bytes: read_body(body).await?,
        format: params.format.map(SubtitleFormat::from),
        language: params.language,
        label: params.label,
        encoding: params.encoding,
    };
    let track = api.ingester.add_subtitles(&id, new).await.map_err(refused)?;
    Ok(HttpResponse::Created().json(model::subtitle_view(id.as_str(), &track)))
}

/// Remove a subtitle track from a movie (its name, e.g. `subs-fr`, is in the movie's details).
#[utoipa::path(delete, path = "/api/admin/movies/{id}/subtitles/{name}", tag = "admin",
    params(("id" = String, Path, description = "Movie id", pattern = "^[a-z0-9][a-z0-9_-]{0,63}$"),
        ("name" = String, Path, description = "The track's name", max_length = 64)),
    security(("admin_token" = [])),
    responses((status = 204), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody, description = "`movie_not_found`, `subtitle_track_not_found`")))]
pub async fn remove_subtitles(
    _admin: Admin,
    api: web::Data<CatalogApi>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (id, name) = path.into_inner();
    let id = MovieId::parse(&id).map_err(|e| ApiError::bad_request(e.code, e.message))?;
    api.ingester.remove_subtitles(&id, &name).await.map_err(refused)?;
    Ok(HttpResponse::NoContent().finish())
}

/// The body, refused as soon as it passes the limit.
async fn read_body(mut body: web::Payload) -> Result<Vec<u8>, ApiError> {
    let mut bytes = Vec::new();
    while let Some(chunk) = body.next().await {
        let chunk =
            chunk.map_err(|e| ApiError::bad_request("upload_interrupted", format!("the upload broke off: {e}")))?;
        if bytes.len() + chunk.len() > MAX_SUBTITLE_FILE_BYTES {
            return Err(refused(SubtitleError::TooLarge(bytes.len() + chunk.len()).into()));
        }
        bytes.extend_from_slice(&chunk);
    }
    Ok(bytes)
}

fn refused(e: SubtitleTrackError) -> ApiError {
    let status = match &e {
        SubtitleTrackError::Storage(_) | SubtitleTrackError::Database(_) | SubtitleTrackError::Unreadable(_) => {
            return ApiError::internal(&e);
        }
        SubtitleTrackError::MovieNotFound(_) | SubtitleTrackError::TrackNotFound(_) => StatusCode::NOT_FOUND,
        SubtitleTrackError::TooManyTracks => StatusCode::CONFLICT,
        SubtitleTrackError::InvalidLanguage(_) => StatusCode::BAD_REQUEST,
        SubtitleTrackError::Subtitles(SubtitleError::TooLarge(_)) => StatusCode::PAYLOAD_TOO_LARGE,
        SubtitleTrackError::Subtitles(SubtitleError::UnknownEncoding(_) | SubtitleError::UnknownFormat) => {
            StatusCode::BAD_REQUEST
        }
        SubtitleTrackError::Subtitles(_) => StatusCode::UNPROCESSABLE_ENTITY,
    };
    tracing::info!(code = e.code(), error = %e, "subtitles refused");
    ApiError::new(status, e.code(), e.to_string())
}
