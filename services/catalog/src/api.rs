//! The catalog's JSON API: listing and search, details, the segment-hash
//! manifest, and the admin endpoints to ingest (upload) and delete movies.

use cinemesh_common::routes::resource;
use std::path::PathBuf;
use std::sync::Arc;

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use cinemesh_common::{ApiError, ErrorBody};
use futures_util::StreamExt;
use serde::Deserialize;
use tokio::io::AsyncWriteExt;
use utoipa::IntoParams;

use crate::admin::session_api::SignInAttempts;
use crate::admin::{Admin, AdminAccounts};
use crate::domain::{Description, InvalidInput, ListQuery, MovieId, Title, Year};
use crate::ingest::{ActiveIngests, CatalogStatus, Ingester};
use crate::jobs::{IngestJob, IngestQueue, JobError, JobSpec, JobState};
use crate::model::{
    self, Movie, MovieDetail, MoviePage, MovieSummary, Offload, Rendition, SegmentManifest, SkippedTrack, TrackerAccess,
};
use crate::temp_file::TempFile;
use crate::uploads::UploadStore;
use cinemesh_common::client_address::TrustedProxies;
use cinemesh_common::rate_limit::PerAddress;
use cinemesh_common::swarm_token::{SwarmTokens, now_unix_secs};
use cinemesh_common::turn_credentials::IceServers;

/// What the catalog routes need.
#[derive(Clone)]
pub struct CatalogApi {
    pub ingester: Ingester,
    /// Bearer token for the admin endpoints; `None` disables them.
    pub admin_token: Option<String>,
    /// Where uploads are written before they are ingested.
    pub upload_dir: PathBuf,
    pub max_upload_bytes: u64,
    /// Ingest jobs: uploads queue them, workers run them.
    pub queue: IngestQueue,
    pub active: ActiveIngests,
    /// Signs the tracker tokens handed out with movie details.
    pub tokens: SwarmTokens,
    /// Handed to viewers with the tracker token, TURN credentials made for each.
    pub ice_servers: IceServers,
    /// Segment connections may use TURN too (`turn.relay_segments`).
    pub relay_segments: bool,
    /// Told when a movie is deleted, so that what runs on it ends too.
    pub on_delete: Option<Arc<dyn MovieDeleted>>,
    /// Admin users and browser sessions.
    pub accounts: AdminAccounts,
    pub sign_in_attempts: SignInAttempts,
    /// Whose `X-Forwarded-For` names the client (rate limits are per client).
    pub trusted_proxies: TrustedProxies,
    /// Resumable uploads under way.
    pub uploads: UploadStore,
    /// Uploads each address may start: a burst, then a steady rate.
    pub upload_creations: PerAddress,
    /// An unfinished upload is removed this long after its last byte.
    pub upload_expiry: std::time::Duration,
    /// Told when the instance stops: the job event streams end then.
    pub stop: cinemesh_common::StopSignal,
}

/// What ends with a deleted movie: its swarms, its rooms.
pub trait MovieDeleted: Send + Sync {
    fn deleted<'a>(&'a self, movie: &'a str) -> std::pin::Pin<Box<dyn std::future::Future<Output = ()> + 'a>>;
}

impl CatalogApi {
    /// A movie's details with a fresh tracker token; `None` when it is gone.
    pub(crate) async fn detail_of(&self, id: &MovieId) -> Result<Option<MovieDetail>, sqlx::Error> {
        let Some((movie, renditions)) = self.ingester.store.get(id).await? else {
            return Ok(None);
        };
        let skipped = self.ingester.store.skipped_tracks(id).await?;
        Ok(Some(self.detail(&movie, &renditions, skipped)))
    }

    fn detail(&self, movie: &Movie, renditions: &[Rendition], skipped: Vec<SkippedTrack>) -> MovieDetail {
        let now = now_unix_secs();
        let (token, expires_at_secs) = self.tokens.issue(&movie.id, now);
        let access = TrackerAccess {
            url: "/tracker".into(),
            token,
            expires_at_secs,
            ice_servers: self.ice_servers.for_viewer(&cinemesh_common::id::random_id(10), now),
            relay_segments: self.relay_segments,
        };
        model::movie_detail(movie, renditions, skipped, access)
    }
}

pub fn configure_catalog(cfg: &mut web::ServiceConfig, api: CatalogApi) {
    cfg.app_data(web::Data::new(api))
        .service(resource("/api/movies", "GET").route(web::get().to(list_movies)))
        .service(resource("/api/movies/{id}", "GET").route(web::get().to(get_movie)))
        .service(resource("/api/movies/{id}/segments", "GET").route(web::get().to(get_segment_manifest)))
        .service(resource("/api/catalog/status", "GET").route(web::get().to(catalog_status)))
        .service(resource("/api/admin/movies", "POST").route(web::post().to(upload_movie)))
        .service(
            resource("/api/admin/movies/{id}", "DELETE, PATCH")
                .route(web::delete().to(delete_movie))
                .route(web::patch().to(crate::admin::library_api::edit_movie)),
        )
        .service(resource("/api/admin/offload/{id}", "GET").route(web::get().to(movie_offload)))
        .configure(crate::subtitles_api::configure_subtitles)
        .configure(crate::admin::session_api::configure_session)
        .configure(crate::admin::library_api::configure_library)
        .configure(crate::jobs::api::configure_jobs)
        .configure(crate::uploads::api::configure_uploads);
}

pub(crate) fn invalid(e: InvalidInput) -> ApiError {
    ApiError::bad_request(e.code, e.message)
}

pub(crate) fn db_error(e: sqlx::Error) -> ApiError {
    ApiError::internal(&e)
}

pub(crate) fn movie_not_found(id: &str) -> ApiError {
    ApiError::not_found("movie_not_found", format!("no movie with id {id:?}"))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListParams {
    /// Search text, matched against titles and descriptions (case-insensitive).
    #[param(max_length = 200)]
    q: Option<String>,
    /// 1-based page number (default 1).
    #[param(minimum = 1, maximum = 1000000)]
    page: Option<i64>,
    /// Movies per page, 1 to 100 (default 24).
    #[param(minimum = 1, maximum = 100)]
    per_page: Option<i64>,
}

/// List or search movies, newest first.
#[utoipa::path(get, path = "/api/movies", tag = "catalog", params(ListParams),
    responses((status = 200, body = MoviePage), (status = 400, body = ErrorBody)))]
pub async fn list_movies(api: web::Data<CatalogApi>, params: web::Query<ListParams>) -> Result<HttpResponse, ApiError> {
    let query = ListQuery::parse(params.q.as_deref(), params.page, params.per_page).map_err(invalid)?;
    let (movies, total) = api.ingester.store.list(&query).await.map_err(db_error)?;
    Ok(HttpResponse::Ok().json(MoviePage {
        movies: movies.iter().map(MovieSummary::from).collect(),
        page: query.page,
        per_page: query.per_page,
        total,
    }))
}

/// A movie's details: renditions, duration, poster, playlists, manifest URL.
#[utoipa::path(get, path = "/api/movies/{id}", tag = "catalog",
    params(("id" = String, Path, description = "Movie id", pattern = "^[a-z0-9][a-z0-9_-]{0,63}$")),
    responses((status = 200, body = MovieDetail), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn get_movie(api: web::Data<CatalogApi>, id: web::Path<String>) -> Result<HttpResponse, ApiError> {
    let id = MovieId::parse(&id).map_err(invalid)?;
    let detail = api.detail_of(&id).await.map_err(db_error)?.ok_or_else(|| movie_not_found(id.as_str()))?;
    // Each answer carries a fresh token: never cache it.
    Ok(HttpResponse::Ok().insert_header(("cache-control", "no-store")).json(detail))
}

/// Size and SHA-256 of every segment of every rendition.
#[utoipa::path(get, path = "/api/movies/{id}/segments", tag = "catalog",
    params(("id" = String, Path, description = "Movie id", pattern = "^[a-z0-9][a-z0-9_-]{0,63}$")),
    responses((status = 200, body = SegmentManifest), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn get_segment_manifest(api: web::Data<CatalogApi>, id: web::Path<String>) -> Result<HttpResponse, ApiError> {
    let id = MovieId::parse(&id).map_err(invalid)?;
    let manifest = api
        .ingester
        .store
        .segment_manifest(&id)
        .await
        .map_err(db_error)?
        .ok_or_else(|| movie_not_found(id.as_str()))?;
    // Segment hashes never change for a movie id.
    Ok(HttpResponse::Ok().insert_header(("cache-control", "public, max-age=3600")).json(manifest))
}

/// Ingests under way (with progress) and any notice for the operator.
#[utoipa::path(get, path = "/api/catalog/status", tag = "catalog", responses((status = 200, body = CatalogStatus)))]
pub async fn catalog_status(api: web::Data<CatalogApi>) -> HttpResponse {
    HttpResponse::Ok().json(api.active.status())
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct UploadParams {
    /// Movie title, 1 to 200 characters.
    #[param(min_length = 1, max_length = 200)]
    title: String,
    /// Optional description, up to 4000 characters.
    #[param(max_length = 4000)]
    description: Option<String>,
    /// Optional release year.
    #[param(minimum = 1878, maximum = 2200)]
    year: Option<i64>,
    /// The file's name, shown with the job.
    #[param(max_length = 255)]
    file_name: Option<String>,
    /// Hold the request until the ingest job ends, and answer as the job
    /// ended: 201 with the movie, or the failure's code.
    wait: Option<bool>,
}

/// Upload a movie file (the raw request body) to be ingested. Answers at
/// once (202) with the ingest job, which runs in the queue; or, with
/// `wait=true`, when the job ends. Requires the admin token or session.
///
/// Only self-contained movie containers are ingested: MP4/MOV, Matroska/WebM,
/// AVI, MPEG-TS, FLV, Ogg, MPEG-PS and ASF/WMV. For uploads that resume
/// after a dropped connection, use `/api/admin/uploads` (tus).
#[utoipa::path(post, path = "/api/admin/movies", tag = "admin", params(UploadParams),
    request_body(content = Vec<u8>, content_type = "application/octet-stream"),
    security(("admin_token" = []), ("admin_session" = [])),
    responses((status = 202, body = crate::jobs::IngestJob, description = "queued; `Location` is the job"),
        (status = 201, body = MovieDetail, description = "with `wait=true`: the movie"),
        (status = 400, body = ErrorBody, description = "`empty_upload`, `upload_interrupted`, or an invalid parameter"),
        (status = 401, body = ErrorBody, description = "`unauthorized`"),
        (status = 403, body = ErrorBody, description = "`admin_disabled`, `csrf_failed`"),
        (status = 409, body = ErrorBody, description = "with `wait=true`: `job_cancelled`"),
        (status = 413, body = ErrorBody,
            description = "`upload_too_large`: refused from `Content-Length` before the body is read, \
            or as a chunked body passes the limit"),
        (status = 422, body = ErrorBody,
            description = "with `wait=true`: `unsupported_container` (playlists, concat lists, images, unknown \
            formats), `not_a_video`, `source_truncated` (the media stop before the declared duration), \
            `video_too_small`, `source_unreadable`, `encode_failed`"),
        (status = 503, body = ErrorBody,
            description = "`ingest_queue_full`; with `wait=true`: `ffmpeg_missing`, `no_ingest_workers`"),
        (status = 507, body = ErrorBody, description = "`storage_full`: the disk filled while the upload came in, \
            or (with `wait=true`) during the ingest")))]
pub async fn upload_movie(
    _admin: Admin,
    req: HttpRequest,
    api: web::Data<CatalogApi>,
    params: web::Query<UploadParams>,
    body: web::Payload,
) -> Result<HttpResponse, ApiError> {
    refuse_declared_oversize(&req, api.max_upload_bytes)?;
    if params.wait == Some(true) && !api.queue.workers_alive().await.map_err(db_error)? {
        return Err(ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "no_ingest_workers",
            "no instance runs ingest jobs (admin.ingest_workers is 0 everywhere): the job would wait for ever",
        ));
    }
    let title = Title::parse(&params.title).map_err(invalid)?;
    let description = Description::parse(params.description.as_deref().unwrap_or_default()).map_err(invalid)?;
    let year = params.year.map(Year::parse).transpose().map_err(invalid)?;
    let upload = receive_upload(&api.upload_dir, api.max_upload_bytes, body).await?;
    let spec = JobSpec {
        title: title.as_str().to_owned(),
        description: description.as_str().to_owned(),
        year: year.map(Year::get),
        source: upload.path().to_path_buf(),
        // Subtitles are added to the movie afterwards (`POST .../subtitles`).
        subtitles: vec![],
        owns_source: true,
        file_name: file_name_for_people(params.file_name.as_deref().unwrap_or("upload")),
    };
    let id = cinemesh_common::id::random_id(16);
    let job = api.queue.enqueue(&id, &spec).await.map_err(job_error)?;
    // The job owns the file now.
    upload.keep();
    if params.wait != Some(true) {
        return Ok(HttpResponse::Accepted().insert_header(("location", format!("/api/admin/jobs/{id}"))).json(job));
    }
    let job = wait_for_job(&api, &id).await?;
    match (job.state, job.movie_id.clone()) {
        (JobState::Done, Some(movie)) => {
            let id = MovieId::parse(&movie).map_err(invalid)?;
            let detail = api.detail_of(&id).await.map_err(db_error)?.ok_or_else(|| movie_not_found(&movie))?;
            Ok(HttpResponse::Created().json(detail))
        }
        (JobState::Failed, _) => Err(job_failure(&job)),
        _ => Err(ApiError::new(StatusCode::CONFLICT, "job_cancelled", "the ingest job was cancelled")),
    }
}

/// How often a waiting upload looks at its job.
const JOB_WAIT_POLL: std::time::Duration = std::time::Duration::from_millis(200);

async fn wait_for_job(api: &CatalogApi, id: &str) -> Result<IngestJob, ApiError> {
    loop {
        match api.queue.store.get(id).await.map_err(db_error)? {
            Some(job) if job.state.is_finished() => return Ok(job),
            Some(_) => actix_web::rt::time::sleep(JOB_WAIT_POLL).await,
            None => return Err(ApiError::new(StatusCode::CONFLICT, "job_cancelled", "the ingest job was removed")),
        }
    }
}

/// A file name as given, for display only: its last component, printable, at most 255 characters.
pub(crate) fn file_name_for_people(given: &str) -> String {
    let last = given.rsplit(['/', '\\']).next().unwrap_or_default();
    let clean: String = last.chars().filter(|c| !c.is_control()).take(255).collect();
    if clean.trim().is_empty() { "upload".into() } else { clean }
}

pub(crate) fn job_error(e: JobError) -> ApiError {
    match e {
        JobError::QueueFull => ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "ingest_queue_full", e.to_string()),
        JobError::Database(e) => db_error(e),
    }
}

/// A failed job's error as an HTTP answer: its code and words, with the status recorded with it.
fn job_failure(job: &IngestJob) -> ApiError {
    let status = job.error_status.and_then(|s| u16::try_from(s).ok()).and_then(|s| StatusCode::from_u16(s).ok());
    ApiError::new(
        status.unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
        cinemesh_common::error::stored_code(job.error.as_deref().unwrap_or("ingest_failed"), "ingest_failed"),
        job.message.clone().unwrap_or_default(),
    )
}

/// Delete a movie: its catalog rows, then its files.
#[utoipa::path(delete, path = "/api/admin/movies/{id}", tag = "admin",
    params(("id" = String, Path, description = "Movie id", pattern = "^[a-z0-9][a-z0-9_-]{0,63}$")),
    security(("admin_token" = [])),
    responses((status = 204), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn delete_movie(
    _admin: Admin,
    api: web::Data<CatalogApi>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = MovieId::parse(&id).map_err(invalid)?;
    api.ingester.store.delete(&id).await.map_err(db_error)?.ok_or_else(|| movie_not_found(id.as_str()))?;
    if let Some(on_delete) = &api.on_delete {
        on_delete.deleted(id.as_str()).await;
    }
    let folder = api.ingester.media_dir.join(id.as_str());
    if let Err(e) = tokio::fs::remove_dir_all(&folder).await {
        tracing::warn!(movie = %id, error = %e, "catalog rows deleted but the media folder could not be removed");
    }
    Ok(HttpResponse::NoContent().finish())
}

/// Bytes by source for a movie, from what its viewers reported to the tracker.
#[utoipa::path(get, path = "/api/admin/offload/{id}", tag = "admin",
    params(("id" = String, Path, description = "Movie id", pattern = "^[a-z0-9][a-z0-9_-]{0,63}$")),
    security(("admin_token" = [])),
    responses((status = 200, body = Offload), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn movie_offload(
    _admin: Admin,
    api: web::Data<CatalogApi>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = MovieId::parse(&id).map_err(invalid)?;
    api.ingester.store.get(&id).await.map_err(db_error)?.ok_or_else(|| movie_not_found(id.as_str()))?;
    Ok(HttpResponse::Ok().json(api.ingester.store.offload(&id).await.map_err(db_error)?))
}

pub(crate) fn upload_too_large(max_upload_bytes: u64) -> ApiError {
    ApiError::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        "upload_too_large",
        format!("uploads are limited to {max_upload_bytes} bytes"),
    )
}

/// Refuses from the headers alone an upload whose `Content-Length` is over
/// the limit, before a byte of it is read or written to disk. Chunked uploads
/// carry no length: `receive_upload` counts those as they arrive.
pub(crate) fn refuse_declared_oversize(req: &HttpRequest, max_upload_bytes: u64) -> Result<(), ApiError> {
    let declared = req
        .headers()
        .get(actix_web::http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    match declared {
        Some(length) if length > max_upload_bytes => Err(upload_too_large(max_upload_bytes)),
        _ => Ok(()),
    }
}

/// A full disk is the operator's to fix (507); anything else is ours (500).
pub(crate) fn write_error(e: &std::io::Error) -> ApiError {
    if e.kind() == std::io::ErrorKind::StorageFull {
        ApiError::new(
            StatusCode::INSUFFICIENT_STORAGE,
            "storage_full",
            "the server's disk is full: free some space, then upload again",
        )
    } else {
        ApiError::internal(e)
    }
}

/// A request body written to a new file in `dir`, at most `limit` bytes;
/// the file goes again if anything fails or the caller does not keep it.
pub(crate) async fn receive_upload(
    dir: &std::path::Path,
    limit: u64,
    mut body: web::Payload,
) -> Result<TempFile, ApiError> {
    tokio::fs::create_dir_all(dir).await.map_err(|e| ApiError::internal(&e))?;
    let upload = TempFile::new(dir.join(format!("upload-{}", cinemesh_common::id::random_id(16))));
    let mut file = tokio::fs::File::create(upload.path()).await.map_err(|e| ApiError::internal(&e))?;
    let mut received: u64 = 0;
    while let Some(chunk) = body.next().await {
        let chunk = chunk.map_err(|e| ApiError::bad_request("upload_interrupted", e.to_string()))?;
        received += chunk.len() as u64;
        if received > limit {
            return Err(upload_too_large(limit));
        }
        file.write_all(&chunk).await.map_err(|e| write_error(&e))?;
    }
    file.flush().await.map_err(|e| write_error(&e))?;
    if received == 0 {
        return Err(ApiError::bad_request("empty_upload", "the request body is empty: send the file as the body"));
    }
    Ok(upload)
}
