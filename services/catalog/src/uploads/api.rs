//! `/api/admin/uploads`: the tus routes. Every answer says `Tus-Resumable`;
//! failures also carry our `{error, message}` body with a stable code.

use std::time::{Duration, Instant, SystemTime};

use actix_web::http::header::HttpDate;
use actix_web::http::{Method, StatusCode};
use actix_web::{HttpRequest, HttpResponse, HttpResponseBuilder, ResponseError, web};
use cinemesh_common::routes::resource;
use cinemesh_common::{ApiError, ErrorBody};
use futures_util::StreamExt;
use tokio::io::AsyncWriteExt;

use super::store::{Removal, UploadRecord};
use super::{
    MOVIE_EXTENSIONS, OFFSET_OCTET_STREAM, TUS_EXTENSIONS, TUS_VERSION, UploadMetadata, is_movie_file, parse_metadata,
};
use crate::admin::Admin;
use crate::api::{CatalogApi, db_error, file_name_for_people, invalid, job_error, upload_too_large, write_error};
use crate::domain::{Description, Title, Year};
use crate::jobs::JobSpec;

/// Room an upload must leave on the disk beyond its own bytes: the ingest
/// writes its renditions there too.
const DISK_RESERVE_BYTES: u64 = 256 * 1024 * 1024;
/// A PATCH whose body stops coming for this long ends, keeping what came.
const BODY_IDLE_TIMEOUT: Duration = Duration::from_secs(30);
/// How often a long PATCH pushes its upload's expiry back.
const EXTEND_EVERY: Duration = Duration::from_secs(60);

pub fn configure_uploads(cfg: &mut web::ServiceConfig) {
    cfg.service(
        resource("/api/admin/uploads", "OPTIONS, POST")
            .route(web::method(Method::OPTIONS).to(capabilities))
            .route(web::post().to(create_upload)),
    )
    .service(
        resource("/api/admin/uploads/{id}", "HEAD, PATCH, DELETE, OPTIONS")
            .route(web::head().to(upload_offset))
            .route(web::patch().to(append_to_upload))
            .route(web::delete().to(terminate_upload))
            .route(web::method(Method::OPTIONS).to(capabilities)),
    );
}

/// An `ApiError` answered with the tus version header.
#[derive(Debug)]
pub struct TusError(ApiError);

impl std::fmt::Display for TusError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl ResponseError for TusError {
    fn status_code(&self) -> StatusCode {
        self.0.status
    }

    fn error_response(&self) -> HttpResponse {
        let mut response = HttpResponse::build(self.0.status);
        response.insert_header(("tus-resumable", TUS_VERSION));
        if self.0.code == "unsupported_tus_version" {
            response.insert_header(("tus-version", TUS_VERSION));
        }
        response.json(self.0.body())
    }
}

impl From<ApiError> for TusError {
    fn from(e: ApiError) -> Self {
        Self(e)
    }
}

type TusResult = Result<HttpResponse, TusError>;

fn tus_response(status: StatusCode) -> HttpResponseBuilder {
    let mut response = HttpResponse::build(status);
    response.insert_header(("tus-resumable", TUS_VERSION)).insert_header(("cache-control", "no-store"));
    response
}

fn header<'a>(req: &'a HttpRequest, name: &str) -> Option<&'a str> {
    req.headers().get(name).and_then(|v| v.to_str().ok()).map(str::trim)
}

fn check_version(req: &HttpRequest) -> Result<(), TusError> {
    match header(req, "tus-resumable") {
        Some(TUS_VERSION) => Ok(()),
        other => Err(ApiError::new(
            StatusCode::PRECONDITION_FAILED,
            "unsupported_tus_version",
            format!("this server speaks tus {TUS_VERSION} (Tus-Resumable: {TUS_VERSION}), not {other:?}"),
        )
        .into()),
    }
}

fn upload_not_found(id: &str) -> TusError {
    ApiError::not_found("upload_not_found", format!("no upload {id:?} (finished, cancelled, or expired)")).into()
}

fn http_date(ms: i64) -> String {
    let at = SystemTime::UNIX_EPOCH + Duration::from_millis(u64::try_from(ms).unwrap_or(0));
    HttpDate::from(at).to_string()
}

/// What this server accepts.
#[utoipa::path(options, path = "/api/admin/uploads", tag = "admin",
    responses((status = 204, description = "`Tus-Version`, `Tus-Extension` and `Tus-Max-Size`")))]
pub async fn capabilities(api: web::Data<CatalogApi>) -> HttpResponse {
    tus_response(StatusCode::NO_CONTENT)
        .insert_header(("tus-version", TUS_VERSION))
        .insert_header(("tus-extension", TUS_EXTENSIONS))
        .insert_header(("tus-max-size", api.max_upload_bytes.to_string()))
        .finish()
}

/// Start a resumable upload (tus creation). `Upload-Length` and
/// `Upload-Metadata` (`filename`, `filetype`, `title`, `description`, `year`)
/// are checked before any byte: size, free disk, file type and details.
#[utoipa::path(post, path = "/api/admin/uploads", tag = "admin",
    security(("admin_token" = []), ("admin_session" = [])),
    responses((status = 201, description = "`Location` is the upload; `Upload-Expires` when an unfinished one is removed"),
        (status = 400, body = ErrorBody,
            description = "`invalid_upload_length`, `empty_upload`, `invalid_metadata`, `invalid_title`, `invalid_year`"),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody, description = "`csrf_failed`"),
        (status = 412, body = ErrorBody, description = "`unsupported_tus_version`"),
        (status = 413, body = ErrorBody, description = "`upload_too_large`"),
        (status = 415, body = ErrorBody, description = "`unsupported_type`: not a movie file's name"),
        (status = 429, body = ErrorBody, description = "`too_many_uploads` from this address"),
        (status = 507, body = ErrorBody, description = "`storage_full`")))]
pub async fn create_upload(admin: Admin, req: HttpRequest, api: web::Data<CatalogApi>) -> TusResult {
    check_version(&req)?;
    if let Some(address) = api.trusted_proxies.client_address(&req)
        && !api.upload_creations.allow(address, Instant::now())
    {
        return Err(ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "too_many_uploads",
            "too many uploads started from this address: wait a little",
        )
        .into());
    }
    let length = match header(&req, "upload-length").map(str::parse::<u64>) {
        Some(Ok(length)) => length,
        _ => {
            return Err(ApiError::bad_request(
                "invalid_upload_length",
                "send the file's size in Upload-Length (deferred lengths are not supported)",
            )
            .into());
        }
    };
    if length == 0 {
        return Err(ApiError::bad_request("empty_upload", "the file is empty").into());
    }
    if length > api.max_upload_bytes {
        return Err(upload_too_large(api.max_upload_bytes).into());
    }
    let mut metadata = parse_metadata(header(&req, "upload-metadata").unwrap_or_default())
        .map_err(|message| ApiError::bad_request("invalid_metadata", message))?;
    metadata.file_name = file_name_for_people(&metadata.file_name);
    if !is_movie_file(&metadata.file_name, metadata.file_type.as_deref()) {
        return Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_type",
            format!("{:?} is not a movie file: send one of .{}", metadata.file_name, MOVIE_EXTENSIONS.join(", .")),
        )
        .into());
    }
    // The details as the movie will have them, checked now rather than after an hour of upload.
    let spec = job_spec(&metadata, std::path::Path::new(""))?;
    metadata.title = Some(spec.title);
    metadata.description = Some(spec.description);
    metadata.year = spec.year.map(|y| y.to_string());
    // Room for this file, the ingest after it, and the uploads still coming.
    let pending = api.uploads.pending_bytes().await.map_err(db_error)?;
    let available = available_bytes(&api.upload_dir);
    if available < length.saturating_add(DISK_RESERVE_BYTES).saturating_add(pending) {
        return Err(ApiError::new(
            StatusCode::INSUFFICIENT_STORAGE,
            "storage_full",
            format!(
                "the server has {available} bytes free, not enough for {length}, the ingest after it and \
                 {pending} bytes of other uploads still coming"
            ),
        )
        .into());
    }
    let expires = cinemesh_common::db::now_ms() + api.upload_expiry.as_millis() as i64;
    let record =
        api.uploads.create(length as i64, &metadata, &admin.user, expires).await.map_err(|e| ApiError::internal(&e))?;
    tracing::info!(upload = %record.id, length, file = %metadata.file_name, user = %admin.user, "upload started");
    Ok(tus_response(StatusCode::CREATED)
        .insert_header(("location", format!("/api/admin/uploads/{}", record.id)))
        .insert_header(("upload-offset", "0"))
        .insert_header(("upload-expires", http_date(record.expires_at_ms)))
        .finish())
}

/// Where to resume: the bytes the server has (`Upload-Offset`) of `Upload-Length`.
#[utoipa::path(head, path = "/api/admin/uploads/{id}", tag = "admin",
    params(("id" = String, Path, description = "Upload id")),
    security(("admin_token" = []), ("admin_session" = [])),
    responses((status = 200, description = "`Upload-Offset`, `Upload-Length`, `Upload-Expires`"),
        (status = 401), (status = 404, description = "cancelled or expired")))]
pub async fn upload_offset(
    _admin: Admin,
    req: HttpRequest,
    api: web::Data<CatalogApi>,
    id: web::Path<String>,
) -> TusResult {
    check_version(&req)?;
    let record = api.uploads.get(&id).await.map_err(db_error)?.ok_or_else(|| upload_not_found(&id))?;
    // A complete upload says so (its file is its job's, perhaps gone already):
    // a client that lost the last answer then does not send it all again.
    let offset = if record.completed {
        record.length as u64
    } else {
        tokio::fs::metadata(api.uploads.path_of(&id)).await.map_err(|_| upload_not_found(&id))?.len()
    };
    Ok(tus_response(StatusCode::OK)
        .insert_header(("upload-offset", offset.to_string()))
        .insert_header(("upload-length", record.length.to_string()))
        .insert_header(("upload-expires", http_date(record.expires_at_ms)))
        .finish())
}

/// Send bytes from `Upload-Offset` (which must be the server's). When the
/// last byte is in, the upload becomes ingest job `id`.
#[utoipa::path(patch, path = "/api/admin/uploads/{id}", tag = "admin",
    params(("id" = String, Path, description = "Upload id")),
    request_body(content = Vec<u8>, content_type = "application/offset+octet-stream"),
    security(("admin_token" = []), ("admin_session" = [])),
    responses((status = 204, description = "`Upload-Offset` is where the server is now; once complete, \
            `Cinemesh-Job` names the ingest job"),
        (status = 400, body = ErrorBody, description = "`invalid_upload_offset`, `upload_interrupted`"),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody, description = "`csrf_failed`"),
        (status = 404, body = ErrorBody, description = "`upload_not_found`"),
        (status = 409, body = ErrorBody, description = "`offset_mismatch`: ask HEAD where to resume"),
        (status = 413, body = ErrorBody, description = "`upload_too_large`: past Upload-Length"),
        (status = 415, body = ErrorBody, description = "`invalid_content_type`"),
        (status = 423, body = ErrorBody, description = "`upload_locked`: another request is sending it"),
        (status = 503, body = ErrorBody, description = "`ingest_queue_full`: send an empty PATCH later")))]
pub async fn append_to_upload(
    _admin: Admin,
    req: HttpRequest,
    api: web::Data<CatalogApi>,
    id: web::Path<String>,
    mut body: web::Payload,
) -> TusResult {
    check_version(&req)?;
    if header(&req, "content-type") != Some(OFFSET_OCTET_STREAM) {
        return Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "invalid_content_type",
            format!("PATCH bodies are {OFFSET_OCTET_STREAM}"),
        )
        .into());
    }
    let offset: u64 = header(&req, "upload-offset").and_then(|v| v.parse().ok()).ok_or_else(|| {
        TusError(ApiError::bad_request("invalid_upload_offset", "send the offset to write at in Upload-Offset"))
    })?;
    let record = api.uploads.get(&id).await.map_err(db_error)?.ok_or_else(|| upload_not_found(&id))?;
    if record.completed {
        return completed(&record, offset);
    }
    let path = api.uploads.path_of(&id);
    let file = std::fs::OpenOptions::new().append(true).open(&path).map_err(|_| upload_not_found(&id))?;
    // One writer at a time, across instances sharing the folder too; held
    // until the job is queued, and by the expiry sweep and a cancel too.
    if file.try_lock().is_err() {
        return Err(ApiError::new(StatusCode::LOCKED, "upload_locked", "another request is sending this upload").into());
    }
    // Looked at again under the lock: it may have been cancelled, expired or
    // completed by another request meanwhile.
    let record = api.uploads.get(&id).await.map_err(db_error)?.ok_or_else(|| upload_not_found(&id))?;
    if record.completed {
        return completed(&record, offset);
    }
    let length = record.length as u64;
    let mut received = file.metadata().map_err(|e| ApiError::internal(&e))?.len();
    if offset != received {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "offset_mismatch",
            format!("the server has {received} bytes of this upload, not {offset}"),
        )
        .into());
    }
    let declared = header(&req, "content-length").and_then(|v| v.parse::<u64>().ok()).unwrap_or(0);
    if received.saturating_add(declared) > length {
        return Err(past_the_end(length));
    }
    let mut file = tokio::fs::File::from_std(file);
    let mut failure = None;
    let mut extended = Instant::now();
    loop {
        // A client that went quiet (a laptop lid closed, a link gone without
        // a reset) releases the upload, so that it can resume elsewhere.
        let Ok(next) = actix_web::rt::time::timeout(BODY_IDLE_TIMEOUT, body.next()).await else {
            failure = Some(ApiError::bad_request("upload_interrupted", "no bytes came for 30 s").into());
            break;
        };
        let Some(chunk) = next else { break };
        match chunk {
            Ok(chunk) if received + chunk.len() as u64 > length => {
                failure = Some(past_the_end(length));
                break;
            }
            Ok(chunk) => {
                if let Err(e) = file.write_all(&chunk).await {
                    failure = Some(storage_error(e));
                    break;
                }
                received += chunk.len() as u64;
            }
            Err(e) => {
                failure = Some(ApiError::bad_request("upload_interrupted", e.to_string()).into());
                break;
            }
        }
        // A long request keeps its upload from expiring while it runs.
        if extended.elapsed() > EXTEND_EVERY {
            extended = Instant::now();
            api.uploads.extend(&id, expiry(&api)).await.map_err(db_error)?;
        }
    }
    // What arrived is kept, whatever happened after: the client resumes from it.
    if let Err(e) = file.flush().await.and(file.sync_data().await) {
        return Err(storage_error(e));
    }
    let expires = expiry(&api);
    api.uploads.extend(&id, expires).await.map_err(db_error)?;
    if let Some(failure) = failure {
        return Err(failure);
    }
    if received == length {
        start_job(&api, &record, path).await?;
        return completed(&record, received);
    }
    drop(file);
    Ok(tus_response(StatusCode::NO_CONTENT)
        .insert_header(("upload-offset", received.to_string()))
        .insert_header(("upload-expires", http_date(expires)))
        .finish())
}

/// The answer for a complete upload, however often it is asked for.
fn completed(record: &UploadRecord, offset: u64) -> TusResult {
    if offset != record.length as u64 {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "offset_mismatch",
            format!("the upload is complete: the server has all {} bytes", record.length),
        )
        .into());
    }
    Ok(tus_response(StatusCode::NO_CONTENT)
        .insert_header(("upload-offset", record.length.to_string()))
        .insert_header(("cinemesh-job", record.id.clone()))
        .finish())
}

fn expiry(api: &CatalogApi) -> i64 {
    cinemesh_common::db::now_ms() + api.upload_expiry.as_millis() as i64
}

/// A complete upload becomes an ingest job of the same id, which owns its
/// file. Called under the upload's lock; a job queued already (a process
/// stopped between the two steps) is not queued again.
async fn start_job(api: &CatalogApi, record: &UploadRecord, source: std::path::PathBuf) -> Result<(), TusError> {
    if api.queue.store.get(&record.id).await.map_err(db_error)?.is_none() {
        let mut spec = job_spec(&record.metadata, &source)?;
        spec.owns_source = true;
        api.queue.enqueue(&record.id, &spec).await.map_err(job_error)?;
    }
    api.uploads.mark_complete(&record.id).await.map_err(db_error)?;
    tracing::info!(upload = %record.id, "upload complete: ingest job queued");
    Ok(())
}

/// Cancel an upload (tus termination): its bytes are removed.
#[utoipa::path(delete, path = "/api/admin/uploads/{id}", tag = "admin",
    params(("id" = String, Path, description = "Upload id")),
    security(("admin_token" = []), ("admin_session" = [])),
    responses((status = 204), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody, description = "`upload_complete`"),
        (status = 423, body = ErrorBody, description = "`upload_locked`")))]
pub async fn terminate_upload(
    _admin: Admin,
    req: HttpRequest,
    api: web::Data<CatalogApi>,
    id: web::Path<String>,
) -> TusResult {
    check_version(&req)?;
    match api.uploads.remove(&id).await.map_err(db_error)? {
        Removal::Removed => Ok(tus_response(StatusCode::NO_CONTENT).finish()),
        Removal::NotFound => Err(upload_not_found(&id)),
        Removal::Busy => {
            Err(ApiError::new(StatusCode::LOCKED, "upload_locked", "a request is sending this upload").into())
        }
        Removal::Completed => Err(ApiError::new(
            StatusCode::CONFLICT,
            "upload_complete",
            "the upload is complete: cancel its ingest job instead",
        )
        .into()),
    }
}

/// The job an upload's metadata describes; the title defaults to the file's
/// name without its extension.
fn job_spec(metadata: &UploadMetadata, source: &std::path::Path) -> Result<JobSpec, TusError> {
    let stem = metadata.file_name.rsplit_once('.').map_or(metadata.file_name.as_str(), |(stem, _)| stem);
    let title =
        Title::parse(metadata.title.as_deref().filter(|t| !t.trim().is_empty()).unwrap_or(stem)).map_err(invalid)?;
    let description = Description::parse(metadata.description.as_deref().unwrap_or_default()).map_err(invalid)?;
    let year = match metadata.year.as_deref().map(str::trim).filter(|y| !y.is_empty()) {
        None => None,
        Some(text) => {
            let number = text
                .parse::<i64>()
                .map_err(|_| ApiError::bad_request("invalid_year", format!("{text:?} is not a year")))?;
            Some(Year::parse(number).map_err(invalid)?.get())
        }
    };
    Ok(JobSpec {
        title: title.as_str().to_owned(),
        description: description.as_str().to_owned(),
        year,
        source: source.to_path_buf(),
        subtitles: vec![],
        owns_source: false,
        file_name: metadata.file_name.clone(),
    })
}

fn past_the_end(length: u64) -> TusError {
    ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, "upload_too_large", format!("the upload is {length} bytes long"))
        .into()
}

fn storage_error(e: std::io::Error) -> TusError {
    write_error(&e).into()
}

/// Bytes free for us in `dir` (or its nearest existing parent); 0 when unknown.
fn available_bytes(dir: &std::path::Path) -> u64 {
    let existing = dir.ancestors().find(|d| d.exists()).unwrap_or(dir);
    rustix::fs::statvfs(existing).map_or(0, |s| s.f_bavail.saturating_mul(s.f_frsize))
}
